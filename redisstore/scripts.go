package redisstore

import (
	"context"
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// Lua scripts. Each has a call type below whose fields are the script's
// KEYS and ARGV in the order of the script's header, so that no caller
// builds a positional argument list. Every key a script touches is one of
// its KEYS: Redis Cluster routes by them, and a script reaching a key it did
// not declare works only because of the tenant hash tag.
var (
	//go:embed scripts/create.lua
	createSrc string
	//go:embed scripts/touch.lua
	touchSrc string
	//go:embed scripts/outbox_done.lua
	outboxDoneSrc string
	//go:embed scripts/repair.lua
	repairSrc string
	//go:embed scripts/adopt_done.lua
	adoptDoneSrc string
	//go:embed scripts/prune_users.lua
	pruneUsersSrc string
	//go:embed scripts/prune_expired.lua
	pruneExpiredSrc string
	//go:embed scripts/visit.lua
	visitSrc string
	//go:embed scripts/sweep_lock.lua
	sweepLockSrc string
	//go:embed scripts/revoke_batch.lua
	revokeBatchSrc string
	//go:embed scripts/lib_history.lua
	libHistorySrc string
	//go:embed scripts/lib_prune.lua
	libPruneSrc string
	//go:embed scripts/append_events.lua
	appendEventsSrc string
	//go:embed scripts/list_history.lua
	listHistorySrc string
	//go:embed scripts/add_receiver.lua
	addReceiverSrc string

	createScript       = redis.NewScript(libPruneSrc + libHistorySrc + createSrc)
	touchScript        = redis.NewScript(touchSrc)
	outboxDoneScript   = redis.NewScript(outboxDoneSrc)
	repairScript       = redis.NewScript(repairSrc)
	adoptDoneScript    = redis.NewScript(adoptDoneSrc)
	pruneUsersScript   = redis.NewScript(libPruneSrc + pruneUsersSrc)
	pruneExpiredScript = redis.NewScript(libPruneSrc + pruneExpiredSrc)
	visitScript        = redis.NewScript(visitSrc)
	sweepLockScript    = redis.NewScript(sweepLockSrc)
	revokeBatchScript  = redis.NewScript(libHistorySrc + revokeBatchSrc)
	appendEventsScript = redis.NewScript(appendEventsSrc)
	listHistoryScript  = redis.NewScript(libPruneSrc + listHistorySrc)
	addReceiverScript  = redis.NewScript(addReceiverSrc)
)

// luaCall is one call of a script: its keys and arguments.
type luaCall interface {
	script() *redis.Script
	keys() []string
	args() []any
}

// run runs the call (EVALSHA, then EVAL when the script is not loaded).
func run(ctx context.Context, c redis.Scripter, call luaCall) *redis.Cmd {
	return call.script().Run(ctx, c, call.keys(), call.args()...)
}

// queue queues the call on a pipeline as EVALSHA; the caller handles NOSCRIPT.
func queue(ctx context.Context, pipe redis.Pipeliner, call luaCall) *redis.Cmd {
	return call.script().EvalSha(ctx, pipe, call.keys(), call.args()...)
}

// queueEval queues the call on a pipeline as EVAL (the script's source is
// sent: for calls too rare to keep loaded, or where NOSCRIPT cannot be
// handled).
func queueEval(ctx context.Context, pipe redis.Pipeliner, call luaCall) *redis.Cmd {
	return call.script().Eval(ctx, pipe, call.keys(), call.args()...)
}

// strs appends the strings to args.
func strs(args []any, list ...string) []any {
	for _, s := range list {
		args = append(args, s)
	}
	return args
}

// createCall is create.lua.
type createCall struct {
	// KEYS 1-18
	hash, all, user, device, users, partner, created, outbox, adoption string
	policy, revokedCounter, records                                    string
	ended, endedDrop, endedAll, endedUser, audit, auditOrder           string
	// KEYS 19-23: the device indexes, in session.DeviceTypes order
	devIdx []string
	// KEYS 24-26: the union indexes (ux all, ux user), written only with
	// history on, and the user's ended drop times
	unionAll, unionUser, endedUserDrop string
	// ARGV 1-17
	id, userID            string
	expiresMS, absoluteMS int64
	nowMS                 int64
	partnerID             string
	counterTTLSeconds     int
	defaultMax            int
	defaultOnLimit        string
	recordID              string
	recordHeader          string
	recordsExpireMS       int64
	historyMS             int64
	historyMax            int
	auditID, auditHeader  string
	auditMax              int
	// The user's live sessions as read before the call: KEYS 27.. and
	// ARGV 19...
	liveIDs, liveHashes []string
	fields              []any // field, value pairs of the hash
}

func (c createCall) script() *redis.Script { return createScript }
func (c createCall) keys() []string {
	keys := make([]string, 0, 26+len(c.liveHashes))
	keys = append(keys, c.hash, c.all, c.user, c.device, c.users, c.partner, c.created, c.outbox, c.adoption,
		c.policy, c.revokedCounter, c.records, c.ended, c.endedDrop, c.endedAll, c.endedUser, c.audit, c.auditOrder)
	keys = append(keys, c.devIdx...)
	keys = append(keys, c.unionAll, c.unionUser, c.endedUserDrop)
	return append(keys, c.liveHashes...)
}
func (c createCall) args() []any {
	args := make([]any, 0, 18+len(c.liveIDs)+len(c.fields))
	args = append(args, c.id, c.userID, c.expiresMS, c.absoluteMS, c.nowMS, c.partnerID, c.counterTTLSeconds,
		c.defaultMax, c.defaultOnLimit, c.recordID, c.recordHeader, c.recordsExpireMS,
		c.historyMS, c.historyMax, c.auditID, c.auditHeader, c.auditMax, len(c.liveIDs))
	args = strs(args, c.liveIDs...)
	return append(args, c.fields...)
}

// touchCall is touch.lua.
type touchCall struct {
	// KEYS
	hash, all, user, device, users, outbox, partner string
	unionAll, unionUser                             string
	// ARGV
	id, userID, deviceType string
	nowMS                  int64
	ip, appID, appName     string
	maxApps                int
	history                bool // the union indexes move too
}

func (c touchCall) script() *redis.Script { return touchScript }
func (c touchCall) keys() []string {
	return []string{c.hash, c.all, c.user, c.device, c.users, c.outbox, c.partner, c.unionAll, c.unionUser}
}
func (c touchCall) args() []any {
	history := "0"
	if c.history {
		history = "1"
	}
	return []any{c.id, c.userID, c.deviceType, c.nowMS, c.ip, c.appID, c.appName, c.maxApps, history}
}

// repairCall is repair.lua.
type repairCall struct {
	index, union string   // KEYS 1-2: the tenant index and its union index
	hashes       []string // KEYS 3..: the hash of each id
	ids          []string // ARGV
}

func (c repairCall) script() *redis.Script { return repairScript }
func (c repairCall) keys() []string {
	return append([]string{c.index, c.union}, c.hashes...)
}
func (c repairCall) args() []any { return strs(nil, c.ids...) }

// outboxDoneCall is outbox_done.lua.
type outboxDoneCall struct {
	outbox   string // KEYS 1
	cutoffMS int64  // ARGV 1
	ids      []string
}

func (c outboxDoneCall) script() *redis.Script { return outboxDoneScript }
func (c outboxDoneCall) keys() []string        { return []string{c.outbox} }
func (c outboxDoneCall) args() []any           { return strs([]any{c.cutoffMS}, c.ids...) }

// adoptDoneCall is adopt_done.lua.
type adoptDoneCall struct {
	marker    string // KEYS 1
	partnerID string // ARGV 1
}

func (c adoptDoneCall) script() *redis.Script { return adoptDoneScript }
func (c adoptDoneCall) keys() []string        { return []string{c.marker} }
func (c adoptDoneCall) args() []any           { return []any{c.partnerID} }

// pruneUsersCall is prune_users.lua.
type pruneUsersCall struct {
	users     string   // KEYS 1
	userIdx   []string // KEYS 2..: the index of each user
	userUnion []string // then the union index of each user (history on only)
	nowMS     int64    // ARGV 1
	userIDs   []string // ARGV 2..
}

func (c pruneUsersCall) script() *redis.Script { return pruneUsersScript }
func (c pruneUsersCall) keys() []string {
	return append(append([]string{c.users}, c.userIdx...), c.userUnion...)
}
func (c pruneUsersCall) args() []any { return strs([]any{c.nowMS}, c.userIDs...) }

// pruneExpiredCall is prune_expired.lua.
type pruneExpiredCall struct {
	index, union string // KEYS
	nowMS        int64  // ARGV
}

func (c pruneExpiredCall) script() *redis.Script { return pruneExpiredScript }
func (c pruneExpiredCall) keys() []string        { return []string{c.index, c.union} }
func (c pruneExpiredCall) args() []any           { return []any{c.nowMS} }

// visitCall is visit.lua.
type visitCall struct {
	tenants  string // KEYS 1
	tenantID string // ARGV 1
	untilMS  int64  // ARGV 2
}

func (c visitCall) script() *redis.Script { return visitScript }
func (c visitCall) keys() []string        { return []string{c.tenants} }
func (c visitCall) args() []any           { return []any{c.tenantID, c.untilMS} }

// sweepLockCall is sweep_lock.lua.
type sweepLockCall struct {
	lock     string // KEYS 1
	periodMS int64  // ARGV 1
}

func (c sweepLockCall) script() *redis.Script { return sweepLockScript }
func (c sweepLockCall) keys() []string        { return []string{c.lock} }
func (c sweepLockCall) args() []any           { return []any{c.periodMS} }

// appendEventsCall is append_events.lua: one entry for a batch, holding
// its (session, user) pairs and what they share.
type appendEventsCall struct {
	stream, count                               string // KEYS 1-2
	retention                                   int64
	typ, tenantID, partnerID, revokedAt, reason string
	actor                                       string
	sessionUser                                 []string // session id, user id pairs
}

func (c appendEventsCall) script() *redis.Script { return appendEventsScript }
func (c appendEventsCall) keys() []string        { return []string{c.stream, c.count} }
func (c appendEventsCall) args() []any {
	args := make([]any, 0, 7+len(c.sessionUser))
	args = append(args, c.retention, c.typ, c.tenantID, c.partnerID, c.revokedAt, c.reason, c.actor)
	return strs(args, c.sessionUser...)
}

// revokeBatchCall is revoke_batch.lua.
type revokeBatchCall struct {
	// KEYS 1-6
	all, users, revokedCounter, records, partner, source string
	// KEYS 7-11: history (ended records, their drop times, the ended
	// tenant index) and the audit (entries, their order)
	ended, endedDrop, endedAll, audit, auditOrder string
	// KEYS 12: the union index (ix all ∪ hx all)
	unionAll string
	// ARGV 1-8
	nowMS             int64
	counterTTLSeconds int
	requiredUser      string // "" = any
	exceptID          string // "" = none
	recordID          string
	recordHeader      string
	recordsExpireMS   int64
	sourceRank        int64 // rank of ids[0] in source; -1 when ids were not read from it
	// ARGV 9-13
	historyMS   int64  // how long an ended session is kept; 0 = history off
	historyMax  int    // most ended sessions kept per tenant
	auditID     string // the operation's audit entry
	auditHeader string // its JSON (actor, role, reason, target, time)
	auditMax    int    // most audit entries kept per tenant
	// The ids, and the users and device types whose indexes the batch may
	// change, each with its keys (index, ended index, union index, ended
	// drop times): KEYS 13.. and ARGV 17...
	ids, hashes                                     []string
	userIDs, userIdx, userHist, userUnion, userDrop []string
	deviceTypes, devIdx                             []string
}

func (c revokeBatchCall) script() *redis.Script { return revokeBatchScript }
func (c revokeBatchCall) keys() []string {
	keys := make([]string, 0, 12+len(c.hashes)+4*len(c.userIdx)+len(c.devIdx))
	keys = append(keys, c.all, c.users, c.revokedCounter, c.records, c.partner, c.source,
		c.ended, c.endedDrop, c.endedAll, c.audit, c.auditOrder, c.unionAll)
	for _, l := range [][]string{c.hashes, c.userIdx, c.userHist, c.userUnion, c.userDrop, c.devIdx} {
		keys = append(keys, l...)
	}
	return keys
}
func (c revokeBatchCall) args() []any {
	args := make([]any, 0, 16+len(c.ids)+len(c.userIDs)+len(c.deviceTypes))
	args = append(args, c.nowMS, c.counterTTLSeconds, c.requiredUser, c.exceptID, c.recordID, c.recordHeader,
		c.recordsExpireMS, c.sourceRank, c.historyMS, c.historyMax, c.auditID, c.auditHeader, c.auditMax,
		len(c.ids), len(c.userIDs), len(c.deviceTypes))
	args = strs(args, c.ids...)
	args = strs(args, c.userIDs...)
	return strs(args, c.deviceTypes...)
}

// listHistoryCall is list_history.lua.
type listHistoryCall struct {
	active, ended, drops, records, union string // KEYS
	userDrops                            string // KEYS 6: hd user (a user's list), else unused
	nowMS, offset                        int64  // ARGV
	size                                 int
	userList                             bool
}

func (c listHistoryCall) script() *redis.Script { return listHistoryScript }
func (c listHistoryCall) keys() []string {
	return []string{c.active, c.ended, c.drops, c.records, c.union, c.userDrops}
}
func (c listHistoryCall) args() []any {
	user := "0"
	if c.userList {
		user = "1"
	}
	return []any{c.nowMS, c.offset, c.size, user}
}

// addReceiverCall is add_receiver.lua.
type addReceiverCall struct {
	receivers string // KEYS
	id        string // ARGV
	receiver  string
	max       int
}

func (c addReceiverCall) script() *redis.Script { return addReceiverScript }
func (c addReceiverCall) keys() []string        { return []string{c.receivers} }
func (c addReceiverCall) args() []any           { return []any{c.id, c.receiver, c.max} }
