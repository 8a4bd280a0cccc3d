package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// History: with a retention (Options.HistoryRetention), a revoked session
// leaves a compact record in its tenant's slot, written by the same
// revoke_batch.lua call that revokes it, so no crash or interleaving leaves
// a session both active and ended, or revoked without its record:
//
//	eh:{T}          hash  sid -> JSON {f: the session hash's fields, p: partner,
//	                      ea: ended ms, rb: actor, rr: reason}
//	hd:{T}          zset  sid -> ms when the record is dropped (ended + retention)
//	hx:{T}:all      zset  sid -> expires_at ms (the listing order)
//	hx:{T}:u:<uid>  zset  sid -> expires_at ms
//	hd:{T}:u:<uid>  zset  sid -> ms when the record is dropped (hx user's members by drop time)
//	ux:{T}:all      zset  sid -> expires_at ms of every active and ended session: ix all ∪ hx all
//	ux:{T}:u:<uid>  zset  the same for the user: ix user ∪ hx user
//
// The union indexes make a listing with the ended sessions one rank range,
// O(log n + page) at any depth, like the active lists. They are written
// only while history is on: create and touch keep them in step with ix, a
// revocation leaves the session there (ended, same expires_at), and they
// lose a member with ix (expiry: the sweep, create's and the listing's
// pruning) or with hx (a record dropped). A union not in step, as an older
// version or a time with history off leaves it, is built again by the next
// listing (list_history.lua).
//
// Every read prunes what is past its time first (list_history.lua), and the
// keys expire with their newest record, so correctness never waits for the
// sweep. At most HistoryMax records are kept per tenant: a revocation drops
// the oldest beyond it. The session's id pointer lives as long as its record,
// so a create reusing the id is refused meanwhile. Sessions that expire
// without a revocation are not kept (docs/known-limits.md says why).
//
// The audit keeps one entry per revocation operation and tenant, also
// written by revoke_batch.lua (each batch adds its count and, up to
// session.AuditSessionIDs, its ids):
//
//	au:{T}   hash  id -> header JSON; "<id>:n" -> revoked count; "<id>:s" -> first ids, comma-separated
//	ai:{T}   zset  id -> ms of the operation (newest last)

// auditMax bounds the audit entries kept per tenant, oldest dropped first.
const auditMax = 10000

// auditHeader is an audit entry's JSON in au:{T}. Its reason and actor are
// the revocation record header's fields, under the same names.
type auditHeader struct {
	At        int64  `json:"at"`
	Actor     string `json:"a,omitempty"`
	ActorRole string `json:"ar,omitempty"`
	Reason    string `json:"r,omitempty"`
	Target    string `json:"t,omitempty"`
}

func auditHeaderOf(r session.Revocation, now time.Time) (string, error) {
	b, err := json.Marshal(auditHeader{At: ms(now), Actor: r.Actor, ActorRole: r.ActorRole, Reason: r.Reason, Target: r.Target})
	if err != nil {
		return "", fmt.Errorf("redisstore: revoke: audit header: %w", err)
	}
	return string(b), nil
}

// endedRecord is an ended session's JSON in eh:{T}.
type endedRecord struct {
	Fields  map[string]string `json:"f"`
	Partner string            `json:"p"`
	EndedAt int64             `json:"ea"`
	By      string            `json:"rb"`
	Reason  string            `json:"rr"`
}

// decodeEnded turns a record into a revoked session.
func decodeEnded(tenantID, sid, rec string) (session.Session, bool) {
	var r endedRecord
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		return session.Session{}, false
	}
	s, ok := decode(tenantID, sid, r.Fields)
	if !ok {
		return session.Session{}, false
	}
	s.PartnerID = partnerOf(r.Partner, s.PartnerID)
	s.Status = session.StatusRevoked
	s.End = session.Ending{At: fromMS(r.EndedAt), By: r.By, Reason: r.Reason}
	return s, true
}

// GetEnded returns a revoked session that history keeps; tenantID "" reads
// the tenant from the id pointer, which lives as long as the record.
func (s *Store) GetEnded(ctx context.Context, tenantID, id string) (session.Session, error) {
	if s.history <= 0 {
		return session.Session{}, session.ErrNotFound
	}
	if tenantID == "" {
		t, err := s.rdb.Get(ctx, pointerKey(id)).Result()
		if err != nil {
			return session.Session{}, wrap("get ended: pointer", err)
		}
		tenantID = t
	}
	k := tenantKeys(tenantID)
	pipe := s.rdb.Pipeline()
	rec := pipe.HGet(ctx, k.ended(), id)
	drop := pipe.ZScore(ctx, k.endedDrop(), id)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return session.Session{}, wrap("get ended", err)
	}
	if rec.Err() != nil || drop.Err() != nil || int64(drop.Val()) <= ms(s.now()) {
		return session.Session{}, session.ErrNotFound
	}
	sess, ok := decodeEnded(tenantID, id, rec.Val())
	if !ok {
		return session.Session{}, session.ErrNotFound
	}
	return sess, nil
}

// listWithEnded is List for a tenant (or one of its users) with its ended
// sessions: list_history.lua picks the page, then one pipeline loads it.
// A session revoked between the two is read again, like a stale member.
func (s *Store) listWithEnded(ctx context.Context, f session.Filter, p session.Page) (session.PageResult, error) {
	if ok, err := s.tenantInPartner(ctx, f.TenantID, f.PartnerID); err != nil || !ok {
		return session.PageResult{Items: []session.Session{}}, err
	}
	k := tenantKeys(f.TenantID)
	call := listHistoryCall{
		active: k.all(), ended: k.endedAll(), drops: k.endedDrop(), records: k.ended(), union: k.unionAll(),
		userDrops: k.endedDrop(), offset: p.Offset(), size: p.PerPage,
	}
	if f.UserID != "" {
		call.active, call.ended, call.union, call.userList = k.user(f.UserID), k.endedUser(f.UserID), k.unionUser(f.UserID), true
		call.userDrops = k.endedUserDrop(f.UserID)
	}
	var res session.PageResult
	for round := 0; ; round++ {
		call.nowMS = ms(s.now())
		out, err := run(ctx, s.rdb, call).Slice()
		if err != nil {
			return session.PageResult{}, wrap("list with ended", err)
		}
		res, err = s.loadMixed(ctx, f.TenantID, out)
		if err == nil || !errors.Is(err, errStalePage) || round == repairRounds {
			if errors.Is(err, errStalePage) {
				err = nil
			}
			return res, err
		}
	}
}

// errStalePage says a page changed between its script and its load.
var errStalePage = errors.New("redisstore: page changed while loading")

// loadMixed loads the page list_history.lua returned.
func (s *Store) loadMixed(ctx context.Context, tenantID string, out []any) (session.PageResult, error) {
	total, _ := out[0].(int64)
	res := session.PageResult{Items: []session.Session{}, Total: total}
	k := tenantKeys(tenantID)
	type item struct {
		ended bool
		sid   string
		live  *redis.MapStringStringCmd
		rec   *redis.StringCmd
	}
	items := make([]item, 0, (len(out)-1)/2)
	pipe := s.rdb.Pipeline()
	partner := pipe.Get(ctx, k.partner())
	for i := 1; i+1 < len(out); i += 2 {
		kind, _ := out[i].(string)
		sid, _ := out[i+1].(string)
		it := item{ended: kind == "e", sid: sid}
		if it.ended {
			it.rec = pipe.HGet(ctx, k.ended(), sid)
		} else {
			it.live = pipe.HGetAll(ctx, k.session(sid))
		}
		items = append(items, it)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return res, wrap("list with ended: load", err)
	}
	now := s.now()
	stale := false
	for _, it := range items {
		var sess session.Session
		ok := false
		if it.ended {
			sess, ok = decodeEnded(tenantID, it.sid, it.rec.Val())
		} else {
			sess, ok = decode(tenantID, it.sid, it.live.Val())
			sess.PartnerID = partnerOf(partner.Val(), sess.PartnerID)
			sess.Status = session.StatusActive
			ok = ok && sess.ExpiresAt.After(now)
		}
		if !ok {
			stale = true
			continue
		}
		res.Items = append(res.Items, sess)
	}
	if stale {
		return res, errStalePage
	}
	return res, nil
}

// Audit returns one page of a tenant's revocation audit, newest first, and
// the exact number of entries within the retention.
func (s *Store) Audit(ctx context.Context, tenantID string, p session.Page) (session.AuditPage, error) {
	out := session.AuditPage{Items: []session.AuditEntry{}}
	if s.history <= 0 {
		return out, nil
	}
	k := tenantKeys(tenantID)
	since := "(" + itoa(ms(s.now().Add(-s.history)))
	pipe := s.rdb.Pipeline()
	count := pipe.ZCount(ctx, k.auditOrder(), since, "+inf")
	off := p.Offset()
	ids := pipe.ZRevRange(ctx, k.auditOrder(), off, off+int64(p.PerPage)-1)
	if _, err := pipe.Exec(ctx); err != nil {
		return out, wrap("audit", err)
	}
	out.Total = count.Val()
	page := ids.Val()
	if rest := out.Total - off; rest < int64(len(page)) {
		page = page[:max(rest, 0)] // ranks past the count are past the retention
	}
	if len(page) == 0 {
		return out, nil
	}
	fields := make([]string, 0, 3*len(page))
	for _, id := range page {
		fields = append(fields, id, id+":n", id+":s")
	}
	vals, err := s.rdb.HMGet(ctx, k.audit(), fields...).Result()
	if err != nil {
		return out, wrap("audit: entries", err)
	}
	for i, id := range page {
		hdr, _ := vals[3*i].(string)
		var h auditHeader
		if json.Unmarshal([]byte(hdr), &h) != nil {
			continue
		}
		n, _ := vals[3*i+1].(string)
		first, _ := vals[3*i+2].(string)
		count, _ := strconv.ParseInt(n, 10, 64)
		e := session.AuditEntry{
			ID: id, At: fromMS(h.At), Actor: h.Actor, ActorRole: h.ActorRole, Reason: h.Reason,
			Target: h.Target, RevokedCount: count, SessionIDs: []string{},
		}
		if first != "" {
			e.SessionIDs = strings.Split(first, ",")
		}
		out.Items = append(out.Items, e)
	}
	return out, nil
}
