package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sessiond/sessiond/console"
	"github.com/sessiond/sessiond/pkg/auth"
)

// updateScreenshot rewrites docs/img/console.png from the console test's
// screenshot (go test ./e2e -run Console -update-screenshot); without it
// the screenshot goes to the test's artifact folder only, so that a test
// run leaves the work tree alone.
var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/img/console.png from the console test")

// hostile is stored in every free-text field of one session: rendered as
// HTML, each would run a script or add an element.
const (
	hostileUA      = `<img src=x onerror=alert(1)>`
	hostileName    = `<img src=x onerror="window.__xss=1">`
	hostileApp     = `<script>window.__xss=2</script>`
	hostileLoc     = `<b onmouseover=alert(3)>Amsterdam</b>`
	consoleTenant  = "acme"
	consolePartner = "p-acme"
	otherTenant    = "globex"
	otherPartner   = "p-globex"
)

// consoleSeed is what the test created through the internal API.
type consoleSeed struct {
	all     []session // every session of consoleTenant
	byUser  map[string][]session
	hostile session
	other   session // of otherTenant
}

var seedAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Googlebot/2.1 (+http://www.google.com/bot.html)",
}

// seedConsole creates 25 sessions in consoleTenant (alice 3, bob 2, carol
// 1 with hostile strings, u01–u19 one each) and one in otherTenant, as the
// identity provider would, with a service token.
func seedConsole(t *testing.T, sd *sessiond) consoleSeed {
	t.Helper()
	svc := mint(t, service)
	seed := consoleSeed{byUser: map[string][]session{}}
	n := 0
	create := func(id, user, tenant, partner string, ttl int, extra map[string]any) session {
		t.Helper()
		body := map[string]any{
			"id": id, "user_id": user, "tenant_id": tenant, "partner_id": partner, "ttl_seconds": ttl,
			"user_email": user + "@example.com", "ip_address": fmt.Sprintf("203.0.113.%d", 10+n),
			"user_agent": seedAgents[n%len(seedAgents)], "location": "Amsterdam, NL",
		}
		n++
		for k, v := range extra {
			body[k] = v
		}
		if res := sd.call(t, http.MethodPost, "/api/v1/internal/sessions", svc, body); res.status != http.StatusCreated {
			t.Fatalf("create session %s: %d %s", id, res.status, res.body)
		}
		s := session{ID: id, UserID: user, TenantID: tenant, PartnerID: partner}
		if tenant == consoleTenant {
			seed.all = append(seed.all, s)
			seed.byUser[user] = append(seed.byUser[user], s)
		}
		return s
	}
	// Lists are ordered by expiry, latest first: alice and bob lead page 1,
	// carol (the hostile strings) is last.
	for i := 1; i <= 3; i++ {
		create(fmt.Sprintf("alice-%d", i), "alice", consoleTenant, consolePartner, 9000-i, nil)
	}
	for i := 1; i <= 2; i++ {
		create(fmt.Sprintf("bob-%d", i), "bob", consoleTenant, consolePartner, 8000-i, nil)
	}
	for i := 1; i <= 19; i++ {
		create(fmt.Sprintf("s-u%02d", i), fmt.Sprintf("u%02d", i), consoleTenant, consolePartner, 7000-10*i, nil)
	}
	seed.hostile = create("carol-1", "carol", consoleTenant, consolePartner, 1800, map[string]any{
		"user_agent": hostileUA, "user_display_name": hostileName, "location": hostileLoc,
	})
	seed.other = create("globex-1", "gina", otherTenant, otherPartner, 3600, nil)

	for _, a := range []struct{ id, appID, name string }{
		{"alice-1", "crm", "CRM"}, {"alice-1", "wiki", "Wiki"}, {"carol-1", "evil", hostileApp},
	} {
		res := sd.call(t, http.MethodPost, "/api/v1/internal/sessions/"+a.id+"/activity", svc,
			map[string]any{"application_id": a.appID, "application_name": a.name})
		if res.status != http.StatusNoContent {
			t.Fatalf("activity on %s: %d %s", a.id, res.status, res.body)
		}
	}
	return seed
}

// verifyStatus is what the forward-auth endpoint answers for s's own token.
func verifyStatus(t *testing.T, sd *sessiond, s session) int {
	t.Helper()
	return sd.call(t, http.MethodGet, "/api/v1/auth/verify", userToken(t, s), nil).status
}

// sessionRow is the CSS selector of a session's row in the console.
func sessionRow(id string) string { return fmt.Sprintf(`#session-rows tr[data-session="%s"]`, id) }

// TestConsole drives the console in a real chromium against sessiond on a
// real redis-server, in sequence, in one tab: what a tenant admin does,
// what a partner admin may not do, hostile data, the live feed, and the
// policy headers.
func TestConsole(t *testing.T) {
	sd := startSessiond(t, sharedRedis.NewClient(t))
	seed := seedConsole(t, sd)
	b := startBrowser(t)
	tenantAdmin := mint(t, auth.MintOptions{Subject: "ta-1", Role: auth.RoleTenantAdmin, TenantID: consoleTenant})
	page := sd.URL + console.Prefix

	t.Run("headers", func(t *testing.T) {
		res := sd.call(t, http.MethodGet, console.Prefix, "", nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET /console = %d, want 200", res.status)
		}
		for k, want := range map[string]string{
			"Content-Security-Policy": console.CSP,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Type":            "text/html; charset=utf-8",
		} {
			if got := res.header.Get(k); got != want {
				t.Errorf("GET /console: %s = %q, want %q", k, got, want)
			}
		}
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(res.header.Get("Content-Security-Policy"), d) {
				t.Errorf("CSP %q lacks %q", res.header.Get("Content-Security-Policy"), d)
			}
		}
		if strings.Contains(res.header.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("CSP allows unsafe-inline: %s", res.header.Get("Content-Security-Policy"))
		}
	})

	t.Run("refused token is a message", func(t *testing.T) {
		b.do(t, "open the console", chromedp.Navigate(page))
		b.waitFor(t, "the sign-in form", `!document.getElementById('signin').hidden`)
		b.do(t, "paste a non-JWT", chromedp.SetValue(chromedp.ID("token"), "not-a-token"),
			chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
		b.waitFor(t, "a not-a-JWT message", `document.getElementById('notice').textContent.includes('not a JWT')`)

		forged := mintWith(t, []byte("another-secret-0123456789abcdef-0123"), auth.MintOptions{
			Subject: "ta-1", Role: auth.RoleTenantAdmin, TenantID: consoleTenant})
		b.do(t, "paste a token sessiond did not sign", chromedp.SetValue(chromedp.ID("token"), forged),
			chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
		b.waitFor(t, "a 401 message with the API's detail",
			`document.getElementById('notice').textContent.includes('401 Invalid token') && !document.getElementById('signin').hidden`)
		if v := eval[string](t, b, `sessionStorage.getItem('sessiond.console.token') || ''`); v != "" {
			t.Errorf("a refused token stays in sessionStorage: %q", v)
		}
	})

	t.Run("tenant admin sees sessions and stats", func(t *testing.T) {
		// Dev mode hands the token over in the fragment, which the browser
		// never sends; the console moves it to sessionStorage.
		b.do(t, "open the console with #token=", chromedp.Navigate("about:blank"), chromedp.Navigate(page+"#token="+tenantAdmin))
		b.waitFor(t, "the tenant view", `!document.getElementById('tenant').hidden`)

		if got := eval[string](t, b, `location.href`); strings.Contains(got, "token") {
			t.Errorf("address after sign-in = %q, want no token in it", got)
		}
		if got := eval[string](t, b, `sessionStorage.getItem('sessiond.console.token')`); got != tenantAdmin {
			t.Errorf("sessionStorage token = %q, want the tenant admin's token", got)
		}
		if got := eval[string](t, b, `document.cookie`); got != "" {
			t.Errorf("document.cookie = %q, want none", got)
		}
		claims := eval[map[string]string](t, b,
			`Object.fromEntries([...document.querySelectorAll('#claims dd')].map(d => [d.dataset.claim, d.textContent]))`)
		if claims["role"] != "tenant_admin" || claims["tenant_id"] != consoleTenant || claims["sub"] != "ta-1" {
			t.Errorf("identity shown = %v, want sub ta-1, role tenant_admin, tenant %s", claims, consoleTenant)
		}
		if eval[bool](t, b, `!document.getElementById('picker').hidden`) {
			t.Error("a tenant admin is offered the tenant picker")
		}

		b.waitFor(t, "25 active sessions in the stats", `document.querySelector('[data-stat=active_sessions]')?.textContent === '25'`)
		var stats struct {
			Data struct {
				ByDevice map[string]int `json:"sessions_by_device_type"`
			} `json:"data"`
		}
		res := sd.call(t, http.MethodGet, "/api/v1/tenants/"+consoleTenant+"/sessions/stats", tenantAdmin, nil)
		if err := json.Unmarshal(res.body, &stats); err != nil {
			t.Fatalf("decode stats %s: %v", res.body, err)
		}
		chart := eval[map[string]string](t, b,
			`Object.fromEntries([...document.querySelectorAll('#device-chart text[data-device]')].map(e => [e.dataset.device, e.textContent]))`)
		for dev, n := range stats.Data.ByDevice {
			if chart[dev] != fmt.Sprint(n) {
				t.Errorf("chart shows %s = %q, want %d (chart %v)", dev, chart[dev], n, chart)
			}
		}

		b.waitFor(t, "the first page of 20", `document.querySelectorAll('#session-rows tr[data-session]').length === 20`)
		if got := eval[string](t, b, `document.getElementById('page-info').textContent`); got != "Page 1 of 2 · 25 sessions" {
			t.Errorf("page info = %q, want %q", got, "Page 1 of 2 · 25 sessions")
		}
		cells := eval[[]string](t, b, `[...document.querySelectorAll('`+sessionRow("alice-1")+` td')].map(td => td.textContent)`)
		if len(cells) < 8 || cells[0] != "alicealice@example.com" || cells[1] != "desktop" || !strings.HasPrefix(cells[2], "203.0.113.") ||
			!strings.Contains(cells[3], "Windows NT") || !strings.HasSuffix(cells[4], "UTC") || cells[7] != "2" {
			t.Errorf("row of alice-1 = %q, want user, device, IP, user agent, times and 2 SSO apps", cells)
		}
		b.do(t, "open alice-1's details", chromedp.Click(chromedp.CSS(sessionRow("alice-1")+` button[data-action=details]`)))
		b.waitFor(t, "alice-1's SSO apps", `document.querySelector('tr[data-details="alice-1"] ul.apps')?.textContent.includes('CRM (crm)')`)
		b.do(t, "close alice-1's details", chromedp.Click(chromedp.CSS(sessionRow("alice-1")+` button[data-action=details]`)))
	})

	t.Run("pages", func(t *testing.T) {
		b.do(t, "show 10 per page", chromedp.SetValue(chromedp.ID("per-page"), "10"))
		b.waitFor(t, "page 1 of 3", `document.getElementById('page-info').textContent === 'Page 1 of 3 · 25 sessions'`)
		b.do(t, "next page", chromedp.Click(chromedp.ID("next-page")))
		b.waitFor(t, "page 2 of 3 with 10 rows", `document.getElementById('page-info').textContent.startsWith('Page 2 of 3') &&
			document.querySelectorAll('#session-rows tr[data-session]').length === 10`)
		b.do(t, "next page", chromedp.Click(chromedp.ID("next-page")))
		b.waitFor(t, "page 3 of 3 with 5 rows, carol's last", `document.getElementById('page-info').textContent.startsWith('Page 3 of 3') &&
			document.querySelectorAll('#session-rows tr[data-session]').length === 5 && document.querySelector('`+sessionRow("carol-1")+`')`)
		if !eval[bool](t, b, `document.getElementById('next-page').disabled`) {
			t.Error("the next-page button is enabled on the last page")
		}
		// One click at a time: each page moves the pager.
		b.do(t, "back to page 2", chromedp.Click(chromedp.ID("prev-page")))
		b.waitFor(t, "page 2 again", `document.getElementById('page-info').textContent.startsWith('Page 2 of 3')`)
		b.do(t, "back to page 1", chromedp.Click(chromedp.ID("prev-page")))
		b.waitFor(t, "page 1 again", `document.getElementById('page-info').textContent.startsWith('Page 1 of 3') && document.querySelector('`+sessionRow("alice-1")+`')`)
	})

	t.Run("filter by user", func(t *testing.T) {
		b.typeInto(t, "filter-user", "alice\r")
		b.waitFor(t, "alice's 3 sessions only", `(() => {
			const rows = [...document.querySelectorAll('#session-rows tr[data-session]')];
			return rows.length === 3 && rows.every(r => r.dataset.session.startsWith('alice-')) &&
				document.getElementById('page-info').textContent === 'Page 1 of 1 · 3 sessions';
		})()`)
	})

	t.Run("hostile strings stay text", func(t *testing.T) {
		b.typeInto(t, "filter-user", "carol\r")
		b.waitFor(t, "carol's session", `document.querySelectorAll('#session-rows tr[data-session]').length === 1 && document.querySelector('`+sessionRow("carol-1")+`')`)
		b.do(t, "open carol's details", chromedp.Click(chromedp.CSS(sessionRow("carol-1")+` button[data-action=details]`)))
		b.waitFor(t, "carol's details", `document.querySelector('tr[data-details="carol-1"] ul.apps')`)

		if got := eval[string](t, b, `document.querySelector('`+sessionRow("carol-1")+` td.ua').textContent`); got != hostileUA {
			t.Errorf("user agent cell = %q, want the text %q", got, hostileUA)
		}
		details := eval[string](t, b, `document.querySelector('tr[data-details="carol-1"]').textContent`)
		for _, s := range []string{hostileName, hostileLoc, hostileApp} {
			if !strings.Contains(details, s) {
				t.Errorf("details %q lack the text %q", details, s)
			}
		}
		if n := eval[int](t, b, `document.querySelectorAll('main img, main script, main b, main [onerror], main [onmouseover]').length`); n != 0 {
			t.Errorf("the page has %d elements made from stored strings, want 0", n)
		}
		if eval[bool](t, b, `window.__xss !== undefined`) {
			t.Errorf("window.__xss = %v: a stored string ran as script", eval[any](t, b, `window.__xss`))
		}
		if n := b.dialogs.Load(); n != 0 {
			t.Errorf("%d dialogs opened: a stored string ran as script", n)
		}
		b.do(t, "close carol's details", chromedp.Click(chromedp.CSS(sessionRow("carol-1")+` button[data-action=details]`)))
	})

	t.Run("revoke one", func(t *testing.T) {
		bob1, bob2 := seed.byUser["bob"][0], seed.byUser["bob"][1]
		if got := verifyStatus(t, sd, bob1); got != http.StatusOK {
			t.Fatalf("verify bob-1 before = %d, want 200", got)
		}
		b.typeInto(t, "filter-user", "bob\r")
		b.waitFor(t, "bob's 2 sessions", `document.querySelectorAll('#session-rows tr[data-session]').length === 2`)
		b.do(t, "revoke bob-1", chromedp.Click(chromedp.CSS(sessionRow(bob1.ID)+` button[data-action=revoke]`)))
		b.waitFor(t, "bob-1 gone and a confirmation", `!document.querySelector('`+sessionRow(bob1.ID)+`') &&
			document.getElementById('status').textContent.includes('Revoked session bob-1')`)
		if got := verifyStatus(t, sd, bob1); got != http.StatusUnauthorized {
			t.Errorf("verify bob-1 after the console revoked it = %d, want 401", got)
		}
		if got := verifyStatus(t, sd, bob2); got != http.StatusOK {
			t.Errorf("verify bob-2 = %d, want 200 (only bob-1 was revoked)", got)
		}
	})

	t.Run("revoke a user", func(t *testing.T) {
		bob2 := seed.byUser["bob"][1]
		b.do(t, "ask to revoke bob's sessions", chromedp.Click(chromedp.ID("revoke-user")))
		b.waitFor(t, "a confirmation naming the count", `document.getElementById('confirm').open &&
			document.getElementById('confirm-text').textContent.includes('Revoke all 1 active session of user bob')`)
		b.do(t, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
		b.waitFor(t, "no sessions of bob", `!document.getElementById('confirm').open &&
			document.getElementById('page-info').textContent === 'Page 1 of 1 · 0 sessions' &&
			document.getElementById('status').textContent.includes('Revoked 1 session of user bob')`)
		if got := verifyStatus(t, sd, bob2); got != http.StatusUnauthorized {
			t.Errorf("verify bob-2 after revoking bob = %d, want 401", got)
		}
	})

	t.Run("ended sessions", func(t *testing.T) {
		// History is on by default: the revoked sessions stay listable.
		b.waitFor(t, "the ended-sessions switch", `!document.getElementById('ended-toggle').hidden`)
		b.do(t, "include ended sessions", chromedp.Click(chromedp.ID("show-ended")))
		b.waitFor(t, "bob's two revoked sessions with who and why", `(() => {
			const rows = [...document.querySelectorAll('#session-rows tr[data-session]')];
			const text = id => document.querySelector('#session-rows tr[data-session="' + id + '"]')?.textContent || '';
			return rows.length === 2 && rows.every(r => r.classList.contains('ended') && !r.querySelector('[data-action=revoke]')) &&
				text('bob-1').includes('revoked') && text('bob-1').includes('by ta-1 (tenant_revoke)') &&
				text('bob-2').includes('by ta-1 (user_revoke_admin)');
		})()`)
		b.do(t, "active sessions only", chromedp.Click(chromedp.ID("show-ended")))
		b.waitFor(t, "no active session of bob", `document.getElementById('page-info').textContent === 'Page 1 of 1 · 0 sessions'`)
	})

	t.Run("live update", func(t *testing.T) {
		b.do(t, "show every user", chromedp.Click(chromedp.ID("filter-clear")))
		b.waitFor(t, "alice-2 listed", `document.querySelector('`+sessionRow("alice-2")+`')`)
		// A mark that a reload would wipe.
		eval[chromedp.Void](t, b, `window.__notReloaded = true`)
		res := sd.call(t, http.MethodDelete, "/api/v1/admin/sessions/alice-2", mint(t, superAdmin), nil)
		if res.status != http.StatusNoContent {
			t.Fatalf("revoke alice-2 through the API: %d %s", res.status, res.body)
		}
		b.waitFor(t, "alice-2 gone from the list, the stats and into the feed", `window.__notReloaded === true &&
			!document.querySelector('`+sessionRow("alice-2")+`') &&
			document.querySelector('[data-stat=active_sessions]').textContent === '22' &&
			[...document.querySelectorAll('#feed-items li')].some(li => li.textContent.includes('admin-1 (super_admin) revoked 1 session (admin_revoke): alice-2'))`)
		if got := eval[string](t, b, `document.getElementById('feed-mode').dataset.mode`); got != "poll" {
			t.Errorf("feed mode for a tenant admin = %q, want poll (the event stream is for service tokens)", got)
		}
		saveScreenshot(t, b, "console.png", *updateScreenshot)
	})

	t.Run("policy", func(t *testing.T) {
		b.waitFor(t, "the policy form", `!document.getElementById('policy').hidden && !document.getElementById('pol-max').disabled`)
		b.typeInto(t, "pol-max", "3")
		b.do(t, "refuse at the limit", chromedp.SetValue(chromedp.ID("pol-on-limit"), "refuse"),
			chromedp.Click(chromedp.CSS(`#policy-form button[type=submit]`)))
		b.waitFor(t, "the policy saved", `document.getElementById('status').textContent.includes('Saved the session policy of tenant acme')`)
		var pol struct {
			Data struct {
				Max     int    `json:"max_sessions_per_user"`
				OnLimit string `json:"on_limit"`
			} `json:"data"`
		}
		res := sd.call(t, http.MethodGet, "/api/v1/tenants/"+consoleTenant+"/sessions/policy", tenantAdmin, nil)
		if err := json.Unmarshal(res.body, &pol); err != nil || res.status != http.StatusOK {
			t.Fatalf("GET policy: %d %s: %v", res.status, res.body, err)
		}
		if pol.Data.Max != 3 || pol.Data.OnLimit != "refuse" {
			t.Errorf("policy after saving = %+v, want 3 and refuse", pol.Data)
		}
	})

	t.Run("not found is a message", func(t *testing.T) {
		// Another caller revokes a session that the console still lists; the
		// console's revoke then meets a 404. The live feed may remove the row
		// between the two (it re-reads every few seconds): then try the next.
		for _, id := range []string{"alice-3", "s-u01", "s-u02"} {
			b.waitFor(t, id+" listed", `document.querySelector('`+sessionRow(id)+` button[data-action=revoke]')`)
			res := sd.call(t, http.MethodDelete, "/api/v1/tenants/"+consoleTenant+"/sessions/"+id, mint(t, superAdmin), nil)
			if res.status != http.StatusNoContent {
				t.Fatalf("revoke %s through the API: %d %s", id, res.status, res.body)
			}
			clicked := eval[bool](t, b, `(() => {
				const btn = document.querySelector('`+sessionRow(id)+` button[data-action=revoke]');
				if (btn) btn.click();
				return !!btn;
			})()`)
			if clicked {
				b.waitFor(t, "a 404 message", `document.getElementById('notice').textContent.includes('Revoke session `+id+`: not found') &&
					document.getElementById('notice').textContent.includes('404 Not Found')`)
				return
			}
		}
		t.Fatal("the live feed removed every revoked row before the console's click")
	})

	t.Run("tenant out of reach is a message", func(t *testing.T) {
		b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")))
		b.waitFor(t, "the sign-in form", `!document.getElementById('signin').hidden && document.getElementById('tenant').hidden`)
		if got := eval[string](t, b, `sessionStorage.getItem('sessiond.console.token') || ''`); got != "" {
			t.Errorf("sessionStorage keeps the token after sign-out: %q", got)
		}
		partner := mint(t, auth.MintOptions{Subject: "pa-1", Role: auth.RolePartnerAdmin, PartnerID: consolePartner})
		b.do(t, "sign in as a partner admin", chromedp.SetValue(chromedp.ID("token"), partner),
			chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
		b.waitFor(t, "the tenant picker", `!document.getElementById('picker').hidden`)
		// Sign-out forgot the tenants opened before: acme is suggested from
		// the admin list's tenant_id, in the partner's reach; globex is not.
		b.waitFor(t, "acme suggested from the admin list", `document.querySelector('#tenant-suggestions option[value="acme"]') !== null`)
		if eval[bool](t, b, `document.querySelector('#tenant-suggestions option[value="`+otherTenant+`"]') !== null`) {
			t.Errorf("another partner's tenant %s is suggested", otherTenant)
		}
		b.typeInto(t, "tenant-input", otherTenant+"\r")
		b.waitFor(t, "a 403 message and no tenant view", `document.getElementById('notice').textContent.includes('Open tenant globex: this token may not do that (403 Forbidden)') &&
			document.getElementById('tenant').hidden`)

		b.typeInto(t, "tenant-input", consoleTenant+"\r")
		b.waitFor(t, "the tenant view", `!document.getElementById('tenant').hidden && document.getElementById('notice').hidden &&
			document.getElementById('tenant-title').textContent === 'Tenant acme'`)
		if got := eval[string](t, b, `location.hash`); got != "#tenant=acme" {
			t.Errorf("location.hash = %q, want #tenant=acme", got)
		}
	})

	t.Run("revoke the tenant", func(t *testing.T) {
		var stats struct {
			Data struct {
				Active int `json:"active_sessions"`
			} `json:"data"`
		}
		res := sd.call(t, http.MethodGet, "/api/v1/tenants/"+consoleTenant+"/sessions/stats", tenantAdmin, nil)
		if err := json.Unmarshal(res.body, &stats); err != nil || stats.Data.Active == 0 {
			t.Fatalf("stats before revoking the tenant: %d %s: %v", res.status, res.body, err)
		}
		want := fmt.Sprintf("Revoke all %d active sessions of tenant acme?", stats.Data.Active)
		b.do(t, "ask to revoke the tenant", chromedp.Click(chromedp.ID("revoke-tenant")))
		b.waitFor(t, "a confirmation naming the count", `document.getElementById('confirm').open &&
			document.getElementById('confirm-text').textContent.startsWith(`+jsString(want)+`)`)
		b.do(t, "cancel", chromedp.Click(chromedp.ID("confirm-cancel")))
		b.waitFor(t, "the dialog closed", `!document.getElementById('confirm').open`)
		alice1 := seed.byUser["alice"][0]
		if got := verifyStatus(t, sd, alice1); got != http.StatusOK {
			t.Fatalf("verify alice-1 after cancelling = %d, want 200", got)
		}
		b.do(t, "ask again", chromedp.Click(chromedp.ID("revoke-tenant")))
		b.waitFor(t, "the confirmation", `document.getElementById('confirm').open`)
		b.do(t, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
		b.waitFor(t, "an empty tenant", `document.querySelector('[data-stat=active_sessions]').textContent === '0' &&
			document.getElementById('status').textContent.includes('Revoked `+fmt.Sprint(stats.Data.Active)+` sessions of tenant acme')`)
		if got := verifyStatus(t, sd, alice1); got != http.StatusUnauthorized {
			t.Errorf("verify alice-1 after revoking the tenant = %d, want 401", got)
		}
	})

	t.Run("read-only token gets no write controls", func(t *testing.T) {
		sd.createSession(t, "zed", consoleTenant, consolePartner)
		b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")))
		reader := mint(t, auth.MintOptions{Subject: "auditor", Platform: true, Scope: auth.ScopeAdminRead})
		b.do(t, "sign in with a read-only platform token", chromedp.SetValue(chromedp.ID("token"), reader),
			chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
		b.waitFor(t, "the tenant picker", `!document.getElementById('picker').hidden`)
		b.typeInto(t, "tenant-input", consoleTenant+"\r")
		b.waitFor(t, "the sessions, without revoke buttons or an editable policy", `!document.getElementById('tenant').hidden &&
			document.querySelectorAll('#session-rows tr[data-session]').length > 0 &&
			document.querySelectorAll('[data-action=revoke], [data-action=revoke-user]').length === 0 &&
			document.getElementById('revoke-tenant').closest('[hidden]') !== null &&
			document.getElementById('pol-max').disabled`)
	})

	t.Run("readable at 200% zoom", func(t *testing.T) {
		b.do(t, "zoom to 200%", chromedp.EmulateViewport(683, 450, chromedp.EmulateScale(2)))
		defer b.do(t, "zoom back", chromedp.EmulateReset())
		b.waitFor(t, "the page to reflow", `window.innerWidth <= 700`)
		if got := eval[string](t, b, `(() => {
			const doc = document.documentElement;
			if (doc.scrollWidth > doc.clientWidth + 1) return 'the page scrolls sideways: ' + doc.scrollWidth + ' > ' + doc.clientWidth;
			const unlabelled = [...document.querySelectorAll('input, select, textarea')].filter(e => e.labels.length === 0).map(e => e.id);
			if (unlabelled.length) return 'controls without a label: ' + unlabelled.join(', ');
			const clickable = [...document.querySelectorAll('[data-action]')].filter(e => e.tagName !== 'BUTTON');
			if (clickable.length) return 'actions that are not buttons: ' + clickable.length;
			return '';
		})()`); got != "" {
			t.Error(got)
		}
		saveScreenshot(t, b, "console-200.png", false)
	})

	t.Run("service token follows the event stream", func(t *testing.T) {
		b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")))
		b.do(t, "sign in with a service token", chromedp.SetValue(chromedp.ID("token"), mint(t, service)),
			chromedp.Click(chromedp.CSS(`#signin-form button[type=submit]`)))
		b.waitFor(t, "the stream to open", `document.getElementById('stream-mode').dataset.mode === 'stream'`)
		res := sd.call(t, http.MethodDelete, "/api/v1/admin/sessions/"+seed.other.ID, mint(t, superAdmin), nil)
		if res.status != http.StatusNoContent {
			t.Fatalf("revoke %s through the API: %d %s", seed.other.ID, res.status, res.body)
		}
		b.waitFor(t, "the event in the feed", `[...document.querySelectorAll('#stream-items li')].some(li =>
			li.textContent.includes('session globex-1 of user gina in tenant globex revoked by admin-1 (admin_revoke)'))`)
		b.do(t, "sign out", chromedp.Click(chromedp.ID("signout")))
	})

	if p := b.Problems(); len(p) > 0 {
		t.Errorf("the page misbehaved:\n%s", strings.Join(p, "\n"))
	}
}

// saveScreenshot saves the page as name in the test's artifact folder
// (kept with go test -artifacts -outputdir DIR) and, with docs, as
// docs/img/<name>.
func saveScreenshot(t *testing.T, b *browser, name string, docs bool) {
	t.Helper()
	eval[chromedp.Void](t, b, `window.scrollTo(0, 0)`)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot of the console: %s", path)
	if docs {
		path := filepath.Join("..", "docs", "img", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatalf("save %s: %v", path, err)
		}
		t.Logf("updated %s", path)
	}
}
