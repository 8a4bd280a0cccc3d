package main

const usage = `sessionctl operates sessiond, the session store, over its REST API.

Usage:
  sessionctl [global flags] <command> [flags] [arguments]

Commands:
  list                 list sessions (--user, --tenant, --partner, --page, --per-page, --all)
  get ID               show one session
  revoke ID            revoke one session
  revoke-user          revoke a user's sessions in a tenant (--tenant T --user U [--ids a,b])
  revoke-tenant T      revoke every session of tenant T (asks first; --yes to skip)
  stats TENANT         show a tenant's session figures
  audit TENANT         show a tenant's revocations: who, when, why (--page, --per-page)
  policy get|set T     show or replace a tenant's session policy (limits, timeouts)
  receivers ...        revocation push receivers of a tenant, a partner or the platform (list, add, delete, failures, redeliver)
  watch                follow the revocation stream (--from ID); Ctrl-C stops
  version              print sessionctl's version
  help [COMMAND]       show this help, or a command's

Global flags (accepted before or after the command):
  --url URL            sessiond's base URL (default $SESSIOND_URL, else http://localhost:8080)
  --token TOKEN        bearer token (default $SESSIOND_TOKEN); prefer the variable,
                       flags are visible to other users in ps. Never printed.
  --output, -o FORMAT  table or json (default table). json prints the API's data;
                       watch prints one JSON object per line
  --timeout DURATION   bound on each request, 0 for none (default 30s); watch's
                       stream is not bounded

Tokens: list, get, revoke, revoke-user, revoke-tenant, stats, audit, policy and receivers need an admin
token (super_admin, partner_admin, tenant_admin, or a platform token with scope
admin:read / admin:write) and only reach what it may see. watch needs a service
token with scope sessions:read.

Output: data goes to stdout; progress, summaries and errors go to stderr. Bulk
operations (list --all, revoke-user, revoke-tenant) animate a progress line
when stderr is a terminal and print one summary line either way.

Exit codes:
  0    success
  1    other error (an unexpected answer, a declined confirmation)
  2    bad input: a usage error, or sessiond answered 400, 413 or 422
  3    not found: 404 (the session does not exist or is out of the token's reach)
  4    denied: 401 (token missing, invalid or expired) or 403 (not allowed)
  5    sessiond unavailable: 5xx, network error, or --timeout exceeded
  6    conflict: 409
  130  interrupted (Ctrl-C) before the command finished

Errors show sessiond's detail and the request id to look for in its logs.

Examples:
  export SESSIOND_URL=https://sessiond.example.com SESSIOND_TOKEN=...
  sessionctl list --tenant acme --user alice
  sessionctl list --partner p1 --all -o json | jq length
  sessionctl revoke-user --tenant acme --user alice
  sessionctl revoke-tenant acme --yes
  sessionctl watch -o json
`

const listUsage = `Usage: sessionctl list [--user U] [--tenant T] [--partner P] [--page N] [--per-page N | --all]

Lists the sessions the token can see (GET /api/v1/admin/sessions), latest
expiry first; the filters combine. Without --all it prints one page and a
"page N of M" line on stderr. With --all it pages through everything
(100 per page unless --per-page says otherwise), skipping sessions seen on an
earlier page, with a progress counter on stderr; with --tenant (and no
--partner), --all also lists the revoked sessions that sessiond's history
keeps (GET /api/v1/tenants/T/sessions?active_only=false), with a STATUS
column.

Table columns: ID, USER, TENANT (only with --tenant: list items do not carry
their tenant), DEVICE, IP, CREATED, EXPIRES, APPS. json prints the list items
as an array.

Flags:
  --user U       only user U's sessions
  --tenant T     only tenant T's sessions
  --partner P    only sessions of partner P's tenants
  --page N       page to show (default 1)
  --per-page N   sessions per page, 1..100 (default 20; 100 with --all)
  --all          every page (and, with --tenant, the ended sessions too)
`

const policyUsage = `Usage: sessionctl policy get TENANT
       sessionctl policy set TENANT [--max-sessions N] [--on-limit evict_oldest|refuse]
                                    [--idle-timeout SECONDS] [--max-lifetime SECONDS]

get shows the tenant's effective session policy (its own fields, the
service defaults for the others). set replaces the tenant's policy: a flag
left out (or 0) takes the service default. It applies to later creates
only; lowering a limit revokes nothing.

  --max-sessions N     live sessions one user may hold in the tenant (0 = unlimited)
  --on-limit WHAT      evict_oldest: a create beyond the limit revokes the
                       user's oldest sessions; refuse: it is refused (409)
  --idle-timeout S     idle timeout of a create that gives none, and the most one may give
  --max-lifetime S     lifetime of a create that gives no expiry, and the most one may ask
`

const receiversUsage = `Usage: sessionctl receivers list TENANT
       sessionctl receivers add TENANT --endpoint URL --kind backchannel_logout|caep --audience CLIENT_ID [--events r1,r2]
       sessionctl receivers delete|failures|redeliver TENANT ID

A tenant's revocation push receivers: relying parties that sessiond calls
when one of the tenant's sessions is revoked, with a signed OIDC
Back-Channel Logout token (backchannel_logout) or a CAEP session-revoked
Security Event Token (caep). --events limits a receiver to those revocation
reasons. failures lists the pushes that failed past their retries;
redeliver tries them once more, now. TENANT - addresses the receivers of
the token's partner (a partner admin), which get the revocations of every
tenant of the partner, or of the platform (a super admin), which get every
tenant's.
`

const auditUsage = `Usage: sessionctl audit TENANT [--page N] [--per-page N]

Shows a tenant's revocations, newest first (GET
/api/v1/tenants/T/sessions/audit): one row per revocation operation, with
who made it (the token's sub and role), why (the reason), what it targeted
(session, user, tenant, or an admin revoke-all's filter), how many sessions
it revoked and the first few of them. Empty when sessiond's history is off.

Flags:
  --page N       page to show (default 1)
  --per-page N   entries per page, 1..100 (default 20)
`

const getUsage = `Usage: sessionctl get ID

Shows one session in detail (GET /api/v1/admin/sessions/{id}), with the SSO
applications accessed in it. Exit code 3 when it does not exist or is out of
the token's reach.
`

const revokeUsage = `Usage: sessionctl revoke ID

Revokes one session (DELETE /api/v1/admin/sessions/{id}) and prints its id.
Exit code 3 when it did not exist (any more) or is out of the token's reach.
`

const revokeUserUsage = `Usage: sessionctl revoke-user --tenant T --user U [--except-current=false] [--ids a,b]

Revokes user U's sessions in tenant T (POST
/api/v1/tenants/{T}/sessions/users/{U}/revoke) and prints the revoked ids.
Without --ids every session of the user goes; with --ids only the listed ones
(ids that are not U's in T are ignored and not counted).

Flags:
  --tenant T                the tenant (required)
  --user U                  the user (required)
  --ids a,b                 revoke only these sessions
  --except-current=false    also revoke the token's own session (when the
                            token belongs to one); kept by default
`

const revokeTenantUsage = `Usage: sessionctl revoke-tenant T [--yes]

Revokes every session of tenant T (POST /api/v1/tenants/{T}/sessions/revoke-all)
and prints the revoked ids. On a terminal it asks for confirmation first;
when stdin is not a terminal it refuses (exit code 2) unless --yes is given.

Flags:
  --yes    do not ask
`

const statsUsage = `Usage: sessionctl stats TENANT

Shows a tenant's session figures (GET /api/v1/tenants/{T}/sessions/stats):
active sessions and users, sessions by device type, sessions created and
revoked in the last 24 hours.
`

const watchUsage = `Usage: sessionctl watch [--from ID]

Follows the revocation stream (GET /api/v1/internal/sessions/events, a token
with scope sessions:read) and prints one line per event, or one JSON object
per line with --output json (the event's data plus its "id"). It starts at the
current end of the stream, or after event ID with --from. When the connection
drops it reconnects with backoff and resumes after the last event printed, so
nothing is missed or repeated (a "stream.reset" event says events were lost to
retention). Ctrl-C stops it with exit code 0. It gives up at once when the
first connection fails, or when sessiond refuses the stream (401, 403, 404,
422).

Flags:
  --from ID    resume after this event id (e.g. 1718000000000-0)
`

const versionUsage = `Usage: sessionctl version

Prints sessionctl's version, commit and Go version. It does not contact sessiond.
`

const helpUsage = `Usage: sessionctl help [COMMAND]

Shows the overview, or a command's help.
`
