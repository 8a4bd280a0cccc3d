package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// TestConcurrentRequests drives one router from many goroutines (run with
// -race): logins, activity, lists and revocations of one tenant interleave.
// Afterwards every session is either revoked or listed, and the list, its
// total and the stats agree.
func TestConcurrentRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		svc, super := e.token(t, serviceWrite), e.token(t, superAdmin)
		const workers, perWorker = 8, 10
		var mu sync.Mutex
		revoked := map[string]bool{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					id := fmt.Sprintf("w%d-%d", w, i)
					r := e.post(t, pathInternal, svc, map[string]any{"id": id, "user_id": fmt.Sprintf("u%d", w), "tenant_id": "T1", "ttl_seconds": 600 + i})
					if r.Code != http.StatusCreated {
						t.Errorf("create %s: got %d, want 201; body: %s", id, r.Code, r.Body)
						continue
					}
					if r := e.post(t, pathInternal+"/"+id+"/activity", svc, map[string]any{"application_id": "app"}); r.Code != http.StatusNoContent && r.Code != http.StatusNotFound {
						t.Errorf("activity %s: got %d, want 204 or 404", id, r.Code)
					}
					if r := e.get(t, pathTenant("T1")+"?per_page=5", super); r.Code != http.StatusOK {
						t.Errorf("list: got %d, want 200", r.Code)
					}
					if i%3 == 0 {
						r := e.post(t, pathTenant("T1")+"/users/"+fmt.Sprintf("u%d", w)+"/revoke", super, map[string]any{"revoke_all": true})
						if r.Code != http.StatusOK {
							t.Errorf("revoke: got %d, want 200", r.Code)
							continue
						}
						var got envelope[revokeJSON]
						if err := json.Unmarshal(r.Body, &got); err != nil {
							t.Errorf("revoke body %s: %v", r.Body, err)
							continue
						}
						mu.Lock()
						for _, id := range got.Data.SessionIDs {
							if revoked[id] {
								t.Errorf("%s revoked twice", id)
							}
							revoked[id] = true
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()

		r := e.get(t, pathTenant("T1")+"?per_page=100", super)
		mustStatus(t, r, http.StatusOK)
		list := mustDecode[envelope[[]listItemJSON]](t, r)
		listed := map[string]bool{}
		for _, it := range list.Data {
			listed[it.ID] = true
			if revoked[it.ID] {
				t.Errorf("%s is listed but was revoked", it.ID)
			}
		}
		for w := range workers {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				if !listed[id] && !revoked[id] {
					t.Errorf("%s is neither listed nor revoked", id)
				}
			}
		}
		st := mustDecode[envelope[statsJSON]](t, e.get(t, pathTenant("T1")+"/stats", super)).Data
		if list.Pagination.TotalItems != len(list.Data) || st.ActiveSessions != len(list.Data) {
			t.Errorf("counts: listed %d, total_items %d, stats %d; want all equal", len(list.Data), list.Pagination.TotalItems, st.ActiveSessions)
		}
		if st.SessionsCreatedLast24h != workers*perWorker || st.SessionsRevokedLast24h != len(revoked) {
			t.Errorf("stats: created %d, revoked %d; want %d and %d", st.SessionsCreatedLast24h, st.SessionsRevokedLast24h, workers*perWorker, len(revoked))
		}
	})
}
