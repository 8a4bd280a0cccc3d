package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/sessiond/sessiond/pkg/client"
)

// allPerPage is the page size of list --all: the API's maximum.
const allPerPage = 100

func (a *app) bindList(fs *flag.FlagSet) func(context.Context, []string) error {
	var f client.AdminFilter
	var p client.Page
	var all bool
	fs.StringVar(&f.UserID, "user", "", "")
	fs.StringVar(&f.TenantID, "tenant", "", "")
	fs.StringVar(&f.PartnerID, "partner", "", "")
	fs.IntVar(&p.Page, "page", 0, "")
	fs.IntVar(&p.PerPage, "per-page", 0, "")
	fs.BoolVar(&all, "all", false, "")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 0, ""); err != nil {
			return err
		}
		if all {
			if p.Page != 0 {
				return usageErrorf("--page and --all exclude each other")
			}
			return a.listAll(ctx, f, p.PerPage)
		}
		var pg client.SessionPage
		err := a.call(ctx, func(ctx context.Context) (err error) {
			pg, err = a.listPage(ctx, f, p, false)
			return err
		})
		if err != nil {
			return err
		}
		if err := a.writeList(pg.Sessions, f.TenantID); err != nil {
			return err
		}
		pn := pg.Pagination
		if pn.TotalItems == 0 {
			fmt.Fprintln(a.err, "no sessions")
		} else {
			fmt.Fprintf(a.err, "page %d of %d (%s, %d per page)\n",
				pn.Page, pn.TotalPages, plural(int(pn.TotalItems), "session"), pn.PerPage)
		}
		return nil
	}
}

// listAll pages through every session matching f. Sessions can move
// between pages while it runs (new logins, expiries), so one seen on an
// earlier page is skipped. The output is written once the progress line is
// gone, so that the two never share a terminal line.
func (a *app) listAll(ctx context.Context, f client.AdminFilter, perPage int) error {
	if perPage == 0 {
		perPage = allPerPage
	}
	prog := a.startProgress("listing sessions")
	seen := map[string]bool{}
	var all []client.SessionListItem
	pages := 0
	for page := 1; ; page++ {
		var pg client.SessionPage
		err := a.call(ctx, func(ctx context.Context) (err error) {
			pg, err = a.listPage(ctx, f, client.Page{Page: page, PerPage: perPage}, true)
			return err
		})
		if err != nil {
			prog.finish("")
			return fmt.Errorf("page %d: %w", page, err)
		}
		pages++
		for _, s := range pg.Sessions {
			if !seen[s.ID] {
				seen[s.ID] = true
				all = append(all, s)
			}
		}
		prog.set(fmt.Sprintf("listing sessions: %d of %d (page %d of %d)",
			len(all), pg.Pagination.TotalItems, page, pg.Pagination.TotalPages))
		if len(pg.Sessions) == 0 || int64(page) >= pg.Pagination.TotalPages {
			break
		}
	}
	prog.finish(fmt.Sprintf("listed %s (%s)", plural(len(all), "session"), plural(pages, "page")))
	return a.writeList(all, f.TenantID)
}

// listPage reads one page of f: from the admin list, or, for --all with a
// tenant, from the tenant's list with the ended sessions history keeps.
func (a *app) listPage(ctx context.Context, f client.AdminFilter, p client.Page, ended bool) (client.SessionPage, error) {
	if ended && f.TenantID != "" && f.PartnerID == "" {
		return a.client.TenantSessions(ctx, f.TenantID, client.TenantFilter{UserID: f.UserID, IncludeInactive: true}, p)
	}
	return a.client.ListSessions(ctx, f, p)
}

// writeList prints list items: an array of the API's items, or a table.
func (a *app) writeList(items []client.SessionListItem, tenant string) error {
	if a.json() {
		if items == nil {
			items = []client.SessionListItem{}
		}
		return writeJSON(a.out, items)
	}
	status := slices.ContainsFunc(items, func(s client.SessionListItem) bool { return s.Status != "" })
	t := newSessionTable(a.out, tenant, status)
	for _, s := range items {
		t.row(s)
	}
	return t.flush()
}

func (a *app) bindGet(fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, "session ID"); err != nil {
			return err
		}
		var s client.Session
		err := a.call(ctx, func(ctx context.Context) (err error) {
			s, err = a.client.GetSession(ctx, args[0])
			return err
		})
		if err != nil {
			return err
		}
		if a.json() {
			return writeJSON(a.out, s)
		}
		return writeSession(a.out, s)
	}
}

func (a *app) bindRevoke(fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, "session ID"); err != nil {
			return err
		}
		err := a.call(ctx, func(ctx context.Context) error { return a.client.RevokeSession(ctx, args[0]) })
		if err != nil {
			return err
		}
		return a.writeRevoked(client.RevokeResult{RevokedCount: 1, SessionIDs: []string{args[0]}})
	}
}

func (a *app) bindRevokeUser(fs *flag.FlagSet) func(context.Context, []string) error {
	var tenant, user, ids string
	exceptCurrent := true
	fs.StringVar(&tenant, "tenant", "", "")
	fs.StringVar(&user, "user", "", "")
	fs.StringVar(&ids, "ids", "", "")
	fs.BoolVar(&exceptCurrent, "except-current", true, "")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 0, ""); err != nil {
			return err
		}
		if tenant == "" || user == "" {
			return usageErrorf("--tenant and --user are required")
		}
		req := client.SessionRevokeRequest{RevokeAll: true, ExceptCurrent: client.Bool(exceptCurrent)}
		if ids != "" {
			list := splitList(ids)
			if len(list) == 0 {
				return usageErrorf("--ids %q lists no session", ids)
			}
			req = client.SessionRevokeRequest{SessionIDs: list}
		}
		what := fmt.Sprintf("of user %s in tenant %s", user, tenant)
		return a.bulkRevoke(ctx, what, func(ctx context.Context) (client.RevokeResult, error) {
			return a.client.RevokeUserSessions(ctx, tenant, user, req)
		})
	}
}

func (a *app) bindRevokeTenant(fs *flag.FlagSet) func(context.Context, []string) error {
	var yes bool
	fs.BoolVar(&yes, "yes", false, "")
	fs.BoolVar(&yes, "y", false, "")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, "tenant T"); err != nil {
			return err
		}
		tenant := args[0]
		if !yes {
			if err := a.confirmTenant(ctx, tenant); err != nil {
				return err
			}
		}
		return a.bulkRevoke(ctx, "of tenant "+tenant, func(ctx context.Context) (client.RevokeResult, error) {
			return a.client.RevokeTenantSessions(ctx, tenant)
		})
	}
}

// confirmTenant asks on the terminal before a tenant is wiped. Without a
// terminal there is nobody to ask: a script must say --yes.
func (a *app) confirmTenant(ctx context.Context, tenant string) error {
	if !a.inTTY {
		return usageErrorf("refusing to revoke every session of tenant %s without confirmation: "+
			"stdin is not a terminal; pass --yes", tenant)
	}
	count := ""
	err := a.call(ctx, func(ctx context.Context) error {
		st, err := a.client.TenantStats(ctx, tenant)
		if err == nil {
			count = fmt.Sprintf(" %d active", st.ActiveSessions)
		}
		return err
	})
	if err != nil && ctx.Err() != nil {
		return err
	}
	// Without the count (a token that may revoke but not read) the
	// question stands on its own.
	fmt.Fprintf(a.err, "Revoke all%s sessions of tenant %q? Users will have to log in again. [y/N] ", count, tenant)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(a.in).ReadString('\n')
		answer <- strings.ToLower(strings.TrimSpace(line))
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.err)
		return errInterrupted
	case s := <-answer:
		if s != "y" && s != "yes" {
			return errAborted
		}
	}
	return nil
}

// plural is "1 session", "2 sessions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// bulkRevoke runs one revocation call under a progress line and prints
// its result; what says whose sessions ("of tenant T").
func (a *app) bulkRevoke(ctx context.Context, what string, revoke func(context.Context) (client.RevokeResult, error)) error {
	prog := a.startProgress("revoking sessions " + what)
	var res client.RevokeResult
	err := a.call(ctx, func(ctx context.Context) (err error) {
		res, err = revoke(ctx)
		return err
	})
	if err != nil {
		prog.finish("")
		return err
	}
	prog.finish(fmt.Sprintf("revoked %s %s", plural(res.RevokedCount, "session"), what))
	return a.writeRevoked(res)
}

func (a *app) bindStats(fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, "TENANT"); err != nil {
			return err
		}
		var st client.Stats
		err := a.call(ctx, func(ctx context.Context) (err error) {
			st, err = a.client.TenantStats(ctx, args[0])
			return err
		})
		if err != nil {
			return err
		}
		if a.json() {
			return writeJSON(a.out, st)
		}
		return writeStats(a.out, st)
	}
}

func (a *app) bindAudit(fs *flag.FlagSet) func(context.Context, []string) error {
	var p client.Page
	fs.IntVar(&p.Page, "page", 0, "")
	fs.IntVar(&p.PerPage, "per-page", 0, "")
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 1, "TENANT"); err != nil {
			return err
		}
		var pg client.AuditPage
		err := a.call(ctx, func(ctx context.Context) (err error) {
			pg, err = a.client.TenantAudit(ctx, args[0], p)
			return err
		})
		if err != nil {
			return err
		}
		if a.json() {
			return writeJSON(a.out, pg.Entries)
		}
		if err := writeAudit(a.out, pg.Entries); err != nil {
			return err
		}
		pn := pg.Pagination
		if pn.TotalItems == 0 {
			fmt.Fprintln(a.err, "no revocations")
		} else {
			fmt.Fprintf(a.err, "page %d of %d (%s, %d per page)\n",
				pn.Page, pn.TotalPages, plural(int(pn.TotalItems), "revocation"), pn.PerPage)
		}
		return nil
	}
}

func (a *app) bindPolicy(fs *flag.FlagSet) func(context.Context, []string) error {
	var p client.Policy
	fs.IntVar(&p.MaxSessionsPerUser, "max-sessions", 0, "")
	fs.StringVar(&p.OnLimit, "on-limit", "", "")
	fs.Int64Var(&p.IdleTimeoutSeconds, "idle-timeout", 0, "")
	fs.Int64Var(&p.MaxLifetimeSeconds, "max-lifetime", 0, "")
	return func(ctx context.Context, args []string) error {
		if len(args) != 2 || (args[0] != "get" && args[0] != "set") {
			return usageErrorf("want: policy get TENANT, or policy set TENANT [flags]")
		}
		if args[0] == "get" {
			var set []string
			fs.Visit(func(f *flag.Flag) {
				if slices.Contains([]string{"max-sessions", "on-limit", "idle-timeout", "max-lifetime"}, f.Name) {
					set = append(set, "--"+f.Name)
				}
			})
			if len(set) > 0 {
				return usageErrorf("policy get takes no %s", strings.Join(set, ", "))
			}
		}
		var got client.Policy
		err := a.call(ctx, func(ctx context.Context) (err error) {
			if args[0] == "set" {
				got, err = a.client.SetTenantPolicy(ctx, args[1], p)
			} else {
				got, err = a.client.TenantPolicy(ctx, args[1])
			}
			return err
		})
		if err != nil {
			return err
		}
		if a.json() {
			return writeJSON(a.out, got)
		}
		return writePolicy(a.out, got)
	}
}

func (a *app) bindReceivers(fs *flag.FlagSet) func(context.Context, []string) error {
	var nr client.NewReceiver
	var events string
	fs.StringVar(&nr.URL, "endpoint", "", "")
	fs.StringVar(&nr.Kind, "kind", "", "")
	fs.StringVar(&nr.Audience, "audience", "", "")
	fs.StringVar(&events, "events", "", "")
	return func(ctx context.Context, args []string) error {
		want := map[string]int{"list": 2, "add": 2, "delete": 3, "failures": 3, "redeliver": 3}
		if len(args) == 0 || want[args[0]] == 0 || len(args) != want[args[0]] {
			return usageErrorf("want: receivers list|add TENANT, or receivers delete|failures|redeliver TENANT ID")
		}
		if args[1] == "-" {
			args[1] = "" // the token's partner's or the platform's
		}
		if events != "" {
			nr.Events = strings.Split(events, ",")
		}
		var out any
		err := a.call(ctx, func(ctx context.Context) (err error) {
			switch args[0] {
			case "list":
				out, err = a.client.Receivers(ctx, args[1])
			case "add":
				out, err = a.client.AddReceiver(ctx, args[1], nr)
			case "delete":
				err = a.client.DeleteReceiver(ctx, args[1], args[2])
			case "failures":
				out, err = a.client.ReceiverFailures(ctx, args[1], args[2])
			case "redeliver":
				out, err = a.client.Redeliver(ctx, args[1], args[2])
			}
			return err
		})
		if err != nil || out == nil {
			return err
		}
		if a.json() {
			return writeJSON(a.out, out)
		}
		return writeReceivers(a.out, out)
	}
}

// buildInfo is what version prints.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, Commit: "unknown", Go: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if bi.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				bi.Commit = s.Value
			}
		}
	}
	return bi
}

func (a *app) bindVersion(fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := wantArgs(args, 0, ""); err != nil {
			return err
		}
		bi := readBuildInfo()
		if a.json() {
			return writeJSON(a.out, bi)
		}
		_, err := fmt.Fprintf(a.out, "sessionctl %s (commit %s, %s)\n", bi.Version, bi.Commit, bi.Go)
		return err
	}
}

func (a *app) bindHelp(fs *flag.FlagSet) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		switch len(args) {
		case 0:
			_, err := fmt.Fprint(a.out, usage)
			return err
		case 1:
			cmd, ok := commands[args[0]]
			if !ok {
				return usageErrorf("unknown command %q", args[0])
			}
			_, err := fmt.Fprint(a.out, cmd.usage)
			return err
		}
		return usageErrorf("unexpected argument %q", args[1])
	}
}
