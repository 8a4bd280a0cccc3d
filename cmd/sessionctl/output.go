package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessiond/sessiond/pkg/client"
)

// The JSON output is the API's data in its wire format (pkg/wire, whose
// types pkg/client decodes into): missing strings and times are null,
// times are RFC 3339 UTC with milliseconds.

// writeJSON writes v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// newTable returns the tabwriter of every table.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// tableTime formats a time for tables: UTC to the second, "-" when missing.
func tableTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// cell is s made safe for a terminal, or "-" when empty, so that every
// column has a value.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return safe(s)
}

// sessionTable writes list items as rows; the TENANT column appears when
// tenant is known (list items do not carry it), the STATUS column when the
// list holds ended sessions.
type sessionTable struct {
	tw     *tabwriter.Writer
	tenant string
	status bool
}

func newSessionTable(w io.Writer, tenant string, status bool) *sessionTable {
	t := &sessionTable{tw: newTable(w), tenant: tenant, status: status}
	cols := []string{"ID", "USER"}
	if tenant != "" {
		cols = append(cols, "TENANT")
	}
	cols = append(cols, "DEVICE", "IP", "CREATED", "EXPIRES", "APPS")
	if status {
		cols = append(cols, "STATUS", "ENDED", "BY", "REASON")
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
	return t
}

func (t *sessionTable) row(s client.SessionListItem) {
	cells := []string{cell(s.ID), cell(s.UserID)}
	if t.tenant != "" {
		cells = append(cells, cell(t.tenant))
	}
	cells = append(cells, cell(s.DeviceType), cell(s.IPAddress), tableTime(s.CreatedAt), tableTime(s.ExpiresAt), strconv.Itoa(s.AppCount))
	if t.status {
		ended := "-"
		if s.EndedAt != nil {
			ended = tableTime(*s.EndedAt)
		}
		cells = append(cells, cell(s.Status), ended, cell(s.RevokedBy), cell(s.RevokeReason))
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *sessionTable) flush() error { return t.tw.Flush() }

// writePolicy writes a policy as FIELD VALUE lines.
func writePolicy(w io.Writer, p client.Policy) error {
	tw := newTable(w)
	orNone := func(n int64, unit string) string {
		if n == 0 {
			return "none"
		}
		return strconv.FormatInt(n, 10) + unit
	}
	fmt.Fprintf(tw, "MAX SESSIONS PER USER\t%s\n", orNone(int64(p.MaxSessionsPerUser), ""))
	fmt.Fprintf(tw, "ON LIMIT\t%s\n", cell(p.OnLimit))
	fmt.Fprintf(tw, "IDLE TIMEOUT\t%s\n", orNone(p.IdleTimeoutSeconds, "s"))
	fmt.Fprintf(tw, "MAX LIFETIME\t%s\n", orNone(p.MaxLifetimeSeconds, "s"))
	return tw.Flush()
}

// writeReceivers writes what a receivers command returned as a table.
func writeReceivers(w io.Writer, out any) error {
	tw := newTable(w)
	switch v := out.(type) {
	case []client.Receiver:
		fmt.Fprintln(tw, "ID\tKIND\tAUDIENCE\tURL\tEVENTS\tCREATED")
		for _, r := range v {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(r.ID), cell(r.Kind), cell(r.Audience), cell(r.URL),
				cell(strings.Join(r.Events, ",")), tableTime(r.CreatedAt))
		}
	case client.Receiver:
		return writeReceivers(w, []client.Receiver{v})
	case []client.DeliveryFailure:
		fmt.Fprintln(tw, "AT\tSESSION\tUSER\tREASON\tATTEMPTS\tERROR")
		for _, f := range v {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", tableTime(f.At), cell(f.Event.SessionID), cell(f.Event.UserID),
				cell(f.Event.Reason), f.Attempts, cell(f.LastError))
		}
	case client.Redelivery:
		fmt.Fprintf(tw, "DELIVERED\t%d\nFAILED\t%d\n", v.Delivered, v.Failed)
	}
	return tw.Flush()
}

// writeAudit writes audit entries as a table, newest first.
func writeAudit(w io.Writer, entries []client.AuditEntry) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "AT\tACTOR\tROLE\tREASON\tTARGET\tCOUNT\tSESSIONS")
	for _, e := range entries {
		ids := make([]string, len(e.SessionIDs))
		for i, id := range e.SessionIDs {
			ids[i] = cell(id)
		}
		more := ""
		if int64(len(ids)) < e.RevokedCount {
			more = ",…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s%s\n", tableTime(e.At), cell(e.Actor), cell(e.ActorRole),
			cell(e.Reason), cell(e.Target), e.RevokedCount, strings.Join(ids, ","), more)
	}
	return tw.Flush()
}

// writeSession writes one session as FIELD VALUE lines, then its apps.
func writeSession(w io.Writer, s client.Session) error {
	tw := newTable(w)
	rows := [][2]string{
		{"ID", cell(s.ID)},
		{"USER", cell(s.UserID)},
		{"EMAIL", cell(s.UserEmail)},
		{"NAME", cell(s.UserDisplayName)},
		{"DEVICE", cell(s.DeviceType)},
		{"IP", cell(s.IPAddress)},
		{"LOCATION", cell(s.Location)},
		{"USER AGENT", cell(s.UserAgent)},
		{"CREATED", tableTime(s.CreatedAt)},
		{"LAST ACTIVITY", tableTime(s.LastActivityAt)},
		{"EXPIRES", tableTime(s.ExpiresAt)},
		{"APPS", strconv.Itoa(len(s.SSOApps))},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	if len(s.SSOApps) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "APP ID\tAPP NAME\tACCESSED")
		for _, a := range s.SSOApps {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", cell(a.ApplicationID), cell(a.ApplicationName), tableTime(a.AccessedAt))
		}
	}
	return tw.Flush()
}

// deviceOrder is the order of the device types sessiond reports.
var deviceOrder = []string{"desktop", "mobile", "tablet", "bot", "unknown"}

// writeStats writes a tenant's figures as FIELD VALUE lines.
func writeStats(w io.Writer, s client.Stats) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "TENANT\t%s\n", cell(s.TenantID))
	fmt.Fprintf(tw, "ACTIVE SESSIONS\t%d\n", s.ActiveSessions)
	fmt.Fprintf(tw, "ACTIVE USERS\t%d\n", s.ActiveUsers)
	devices := slices.Clone(deviceOrder)
	for _, d := range slices.Sorted(maps.Keys(s.SessionsByDeviceType)) {
		if !slices.Contains(devices, d) {
			devices = append(devices, d)
		}
	}
	for _, d := range devices {
		fmt.Fprintf(tw, "DEVICE %s\t%d\n", safe(d), s.SessionsByDeviceType[d])
	}
	fmt.Fprintf(tw, "CREATED LAST 24H\t%d\n", s.SessionsCreatedLast24h)
	fmt.Fprintf(tw, "REVOKED LAST 24H\t%d\n", s.SessionsRevokedLast24h)
	fmt.Fprintf(tw, "GENERATED AT\t%s\n", tableTime(s.GeneratedAt))
	return tw.Flush()
}

// writeRevoked prints a revocation's result: the API's data as JSON, or
// the revoked ids under a header.
func (a *app) writeRevoked(r client.RevokeResult) error {
	if r.SessionIDs == nil {
		r.SessionIDs = []string{}
	}
	if a.json() {
		return writeJSON(a.out, r)
	}
	tw := newTable(a.out)
	fmt.Fprintln(tw, "REVOKED")
	for _, id := range r.SessionIDs {
		fmt.Fprintln(tw, cell(id))
	}
	return tw.Flush()
}
