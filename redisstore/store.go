// Package redisstore keeps sessions in Redis. It alone knows key names, Lua
// scripts, pipelines and the sweep; it implements session.Store on a go-redis
// UniversalClient, so the same code runs on a standalone server, behind
// Sentinel, or on Redis Cluster.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/session"
)

var _ session.Store = (*Store)(nil)

// Options tune a Store. Zero values take the defaults.
type Options struct {
	// RevokeBatch bounds the sessions one revocation script touches
	// (config.DefaultRevokeBatch).
	RevokeBatch int
	// ViewShards is how many sorted sets in distinct Cluster slots hold the
	// global view, each partner's view and the tenant list
	// (config.DefaultClusterViewShards when zero); 1 keeps the single-key
	// layout (views.go).
	ViewShards int
	// WaitReplicas, when positive, makes revocations wait for that many
	// replicas to acknowledge (WAIT) for at most WaitTimeout.
	WaitReplicas int
	WaitTimeout  time.Duration
	// EventRetention is about how many revocation events the stream keeps
	// (config.DefaultEventRetention).
	EventRetention int64
	// SweepLock is how long a sweep of a tenant keeps other instances from
	// sweeping it again (config.DefaultSweepLock of the default interval;
	// set it a little below the interval).
	SweepLock time.Duration
	// HistoryRetention is how long a revoked session and each audit entry
	// are kept (history.go); zero turns history off.
	HistoryRetention time.Duration
	// DefaultPolicy is the session policy of a tenant that sets none (and
	// of each field a tenant leaves unset).
	DefaultPolicy session.Policy
	// HistoryMax bounds the ended sessions kept per tenant
	// (config.DefaultHistoryMaxPerTenant when zero), oldest dropped first.
	HistoryMax int
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Store is a session.Store on Redis.
type Store struct {
	rdb       redis.UniversalClient
	retention int64
	lockTTL   time.Duration
	batch     int
	wait      int
	waitT     time.Duration
	now       func() time.Time
	partners  partnerCache
	views     *viewLayout
	sizes     sizeCache
	// tracePaging, set by tests, hears how each page across sets was found.
	tracePaging func(path string)
	history     time.Duration
	histMax     int
	policy      session.Policy
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, o Options) *Store {
	s := &Store{rdb: rdb, batch: o.RevokeBatch, wait: o.WaitReplicas, waitT: o.WaitTimeout, now: o.Now, retention: o.EventRetention}
	if s.retention <= 0 {
		s.retention = config.DefaultEventRetention
	}
	s.lockTTL = o.SweepLock
	if s.lockTTL <= 0 {
		s.lockTTL = config.DefaultSweepLock(config.DefaultSweepInterval)
	}
	if s.batch <= 0 {
		s.batch = config.DefaultRevokeBatch
	}
	if s.waitT <= 0 {
		s.waitT = config.DefaultRedisWaitTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.views = newViewLayout(o.ViewShards)
	s.history, s.histMax = max(o.HistoryRetention, 0), o.HistoryMax
	s.policy = o.DefaultPolicy.Effective(session.Policy{})
	if s.histMax <= 0 {
		s.histMax = config.DefaultHistoryMaxPerTenant
	}
	return s
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.rdb.Ping(ctx).Err())
}

// Create stores a new session: first the id pointer (which claims the id),
// then the membership sets that bulk revocation walks, then the session and
// its tenant indexes in one script, then the cross-tenant views. A crash
// before the script leaves only a claimed id and harmless set entries; after
// it, the tenant's outbox lets the sweep finish the views.
func (s *Store) Create(ctx context.Context, sess *session.Session) error {
	if sess.AbsoluteExpiresAt.IsZero() || sess.AbsoluteExpiresAt.Before(sess.ExpiresAt) {
		sess.AbsoluteExpiresAt = sess.ExpiresAt
	}
	k := tenantKeys(sess.TenantID)
	exp, abs := ms(sess.ExpiresAt), ms(sess.AbsoluteExpiresAt)
	now := s.now()

	// Claim the id first, and learn the tenant's partner and policy: a
	// refused create must change nothing.
	pipe := s.rdb.Pipeline()
	claim := pipe.Do(ctx, "SET", pointerKey(sess.ID), sess.TenantID, "NX", "PXAT", abs)
	known := pipe.Get(ctx, k.partner())
	limit := pipe.HGet(ctx, k.policy(), fMaxSessions)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return wrap("create: claim id", err)
	}
	if errors.Is(claim.Err(), redis.Nil) {
		return session.ErrConflict
	}
	if p := known.Val(); p != "" && sess.PartnerID != "" && p != sess.PartnerID {
		if err := s.rdb.Del(ctx, pointerKey(sess.ID)).Err(); err != nil {
			return wrap("create: release id", err)
		}
		return session.ErrPartnerMismatch
	}
	// The sets bulk revocation walks are written before the session exists,
	// so that no crash can leave a live session outside them.
	pipe = s.rdb.Pipeline()
	pipe.SAdd(ctx, userTenantsKey(sess.UserID), sess.TenantID)
	expireAtLeast(ctx, pipe, userTenantsKey(sess.UserID), abs)
	if sess.PartnerID != "" {
		pipe.SAdd(ctx, partnerTenantsKey(sess.PartnerID), sess.TenantID)
		expireAtLeast(ctx, pipe, partnerTenantsKey(sess.PartnerID), abs)
	}
	tenants := s.views.tenantKey(sess.TenantID)
	pipe.ZAddGT(ctx, tenants, redis.Z{Score: float64(abs), Member: sess.TenantID})
	expireAtLeast(ctx, pipe, tenants, abs)
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("create: membership", err)
	}

	call, err := s.newCreateCall(sess, now)
	if err != nil {
		return err
	}
	// A limit (the tenant's or the default) needs the user's live sessions
	// declared; a create or revocation racing this one changes them, and
	// the script asks for a fresh read.
	limited := s.policy.MaxSessionsPerUser > 0 || atoi(limit.Val()) > 0
	var res []any
	for attempt := 0; ; attempt++ {
		if limited {
			if err := s.declareLive(ctx, k, &call); err != nil {
				return err
			}
		}
		res, err = run(ctx, s.rdb, call).Slice()
		if err != nil {
			return wrap("create", err)
		}
		if code, _ := res[0].(int64); code != -4 || attempt == createRetries {
			break
		}
		if err := raceBackoff(ctx, attempt); err != nil {
			return wrap("create", err)
		}
	}
	switch code, _ := res[0].(int64); code {
	case -1:
		return session.ErrConflict
	case -2, -3, -4:
		// Release the id we claimed: the session was never written.
		if err := s.rdb.Del(ctx, pointerKey(sess.ID)).Err(); err != nil {
			return wrap("create: release id", err)
		}
		switch code {
		case -2:
			return session.ErrPartnerMismatch
		case -3:
			return session.ErrSessionLimit
		}
		return fmt.Errorf("redisstore: create: the user's sessions kept changing (%d tries): %w", createRetries+1, session.ErrUnavailable)
	}
	asked := sess.PartnerID
	sess.PartnerID, _ = res[1].(string)
	var adoptMS int64
	if len(res) > 2 {
		adoptMS, _ = res[2].(int64)
	}

	pipe = s.rdb.Pipeline()
	// The partner's tenant set has the tenant already when the create named
	// the partner; one it inherited from the tenant is asserted here.
	s.addToViews(ctx, pipe, sess.TenantID, sess.PartnerID, sess.ID, exp, abs, asked == "")
	outboxDone(ctx, pipe, k, ms(now), sess.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("create: views", err)
	}
	if rec, _ := res[3].(string); rec != "" {
		// It evicted the user's oldest sessions: relay their revocation
		// record like any other (events, pointers, views).
		batches, err := s.relayRecords(ctx, k, call.recordID)
		for _, b := range batches {
			sess.Evicted = append(sess.Evicted, b.revoked...)
		}
		if err != nil {
			return err
		}
	}
	if adoptMS > 0 {
		// This create gave the tenant its partner: the tenant's earlier
		// sessions are the partner's from now on and join its view. If we
		// stop before the end, the marker makes the sweep finish it.
		if _, err := s.adopt(ctx, sess.TenantID, sess.PartnerID); err != nil {
			return err
		}
	}
	return nil
}

// addToViews queues the cross-tenant view entries of a live session and,
// with membership, the tenant's place in its partner's tenant set.
func (s *Store) addToViews(ctx context.Context, pipe redis.Pipeliner, tenantID, partnerID, sid string, exp, abs int64, membership bool) {
	m := redis.Z{Score: float64(exp), Member: viewMember(tenantID, sid)}
	if partnerID != "" {
		if membership {
			pipe.SAdd(ctx, partnerTenantsKey(partnerID), tenantID)
			expireAtLeast(ctx, pipe, partnerTenantsKey(partnerID), abs)
		}
		view := s.views.key(partnerID, sid)
		pipe.ZAdd(ctx, view, m)
		expireAtLeast(ctx, pipe, view, abs)
	}
	view := s.views.key("", sid)
	pipe.ZAdd(ctx, view, m)
	expireAtLeast(ctx, pipe, view, abs)
}

// outboxDone queues the removal of outbox entries that are no newer than
// cutoffMS: the views now reflect them. A later change of the same session
// keeps its entry.
func outboxDone(ctx context.Context, pipe redis.Pipeliner, k keys, cutoffMS int64, sids ...string) {
	queueEval(ctx, pipe, outboxDoneCall{outbox: k.outbox(), cutoffMS: cutoffMS, ids: sids})
}

// adopt adds a tenant's live sessions to its partner's view after a create
// gave the tenant that partner while it had partner-less sessions (a
// session's partner is its tenant's). It walks the tenant index with ZSCAN,
// which returns every member present for the whole walk, in batches of about
// RevokeBatch; sessions created meanwhile are in the view already. Each batch
// is written, then read back from the tenant index and corrected: a touch
// that moved an expiry before its member reached the view left the view
// alone, so the newer score wins (GT); a session revoked meanwhile leaves the
// view. Last, the marker goes, so that the sweep does not walk the tenant
// again; a marker left by a crash makes the sweep call adopt itself.
func (s *Store) adopt(ctx context.Context, tenantID, partnerID string) (int, error) {
	k := tenantKeys(tenantID)
	until, err := s.rdb.Do(ctx, "PEXPIRETIME", k.all()).Int64()
	if err != nil {
		return 0, wrap("adopt: index expiry", err)
	}
	n := 0
	for cursor := uint64(0); ; {
		kv, next, err := s.rdb.ZScan(ctx, k.all(), cursor, "", int64(s.batch)).Result()
		if err != nil {
			return n, wrap("adopt: scan", err)
		}
		for len(kv) > 0 {
			chunk := kv[:min(len(kv), 2*s.batch)]
			kv = kv[len(chunk):]
			got, err := s.adoptBatch(ctx, tenantID, partnerID, chunk, until)
			n += got
			if err != nil {
				return n, err
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if err := run(ctx, s.rdb, adoptDoneCall{marker: k.adoption(), partnerID: partnerID}).Err(); err != nil {
		return n, wrap("adopt: done", err)
	}
	return n, nil
}

// adoptBatch writes one batch of tenant index members (member, score pairs
// as ZSCAN returns them) to the partner's view and corrects it from a fresh
// read of the tenant index.
func (s *Store) adoptBatch(ctx context.Context, tenantID, partnerID string, kv []string, untilMS int64) (int, error) {
	k := tenantKeys(tenantID)
	nowMS := ms(s.now())
	sids := make([]string, 0, len(kv)/2)
	zs := map[string][]redis.Z{}
	n := 0
	for i := 0; i+1 < len(kv); i += 2 {
		sids = append(sids, kv[i])
		if sc, _ := strconv.ParseFloat(kv[i+1], 64); int64(sc) > nowMS {
			view := s.views.key(partnerID, kv[i])
			zs[view] = append(zs[view], redis.Z{Score: sc, Member: viewMember(tenantID, kv[i])})
			n++
		}
	}
	pipe := s.rdb.Pipeline()
	pipe.SAdd(ctx, partnerTenantsKey(partnerID), tenantID)
	for view, members := range zs {
		pipe.ZAddGT(ctx, view, members...)
	}
	if untilMS > 0 {
		expireAtLeast(ctx, pipe, partnerTenantsKey(partnerID), untilMS)
		for view := range zs {
			expireAtLeast(ctx, pipe, view, untilMS)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, wrap("adopt: view", err)
	}
	fresh, err := s.rdb.ZMScore(ctx, k.all(), sids...).Result()
	if err != nil {
		return n, wrap("adopt: reread", err)
	}
	pipe = s.rdb.Pipeline()
	var gone []string
	for i, sid := range sids {
		// ZMSCORE answers 0 for a missing member.
		if i >= len(fresh) || int64(fresh[i]) <= nowMS {
			gone = append(gone, sid)
			continue
		}
		m := redis.Z{Score: fresh[i], Member: viewMember(tenantID, sid)}
		pipe.ZAddArgs(ctx, s.views.key(partnerID, sid), redis.ZAddArgs{XX: true, GT: true, Members: []redis.Z{m}})
	}
	s.views.queueRemove(ctx, pipe, partnerID, tenantID, gone)
	if _, err := pipe.Exec(ctx); err != nil {
		return n, wrap("adopt: correct view", err)
	}
	return n, nil
}

// touchViews queues the move of a session's expiry in a view: in its shard
// and, while there is one, in the legacy key (XX: a member the view lacks
// stays out).
func (s *Store) touchViews(ctx context.Context, pipe redis.Pipeliner, partnerID, sid string, m redis.Z) {
	pipe.ZAddXX(ctx, s.views.key(partnerID, sid), m)
	if l := s.views.legacy(partnerID); l != "" {
		pipe.ZAddXX(ctx, l, m)
	}
}

// expireAtLeast makes key live at least until atMS without ever shortening it.
func expireAtLeast(ctx context.Context, pipe redis.Pipeliner, key string, atMS int64) {
	pipe.Do(ctx, "PEXPIREAT", key, atMS, "NX")
	pipe.Do(ctx, "PEXPIREAT", key, atMS, "GT")
}

// Get returns a live session by id alone (two round trips: pointer, hash).
func (s *Store) Get(ctx context.Context, id string) (session.Session, error) {
	tenantID, err := s.rdb.Get(ctx, pointerKey(id)).Result()
	if err != nil {
		return session.Session{}, wrap("get: pointer", err)
	}
	return s.GetInTenant(ctx, tenantID, id)
}

// GetInTenant returns a live session of a known tenant in one round trip to
// its slot: the hash and the tenant's partner, which is the session's.
func (s *Store) GetInTenant(ctx context.Context, tenantID, id string) (session.Session, error) {
	k := tenantKeys(tenantID)
	now := s.now()
	if partner, ok := s.partners.get(tenantID, now); ok {
		// The hot path: the tenant's partner is known, one command.
		fields, err := s.rdb.HGetAll(ctx, k.session(id)).Result()
		if err != nil {
			return session.Session{}, wrap("get", err)
		}
		return liveSession(tenantID, id, fields, partner, now)
	}
	pipe := s.rdb.Pipeline()
	hcmd := pipe.HGetAll(ctx, k.session(id))
	pcmd := pipe.Get(ctx, k.partner())
	ecmd := pipe.PExpireTime(ctx, k.partner())
	_, _ = pipe.Exec(ctx) // each reply is checked below
	if err := hcmd.Err(); err != nil {
		return session.Session{}, wrap("get", err)
	}
	if err := pcmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return session.Session{}, wrap("get: partner", err)
	}
	if ecmd.Err() == nil { // else not cached (a server without PEXPIRETIME)
		s.partners.put(tenantID, pcmd.Val(), expireMS(ecmd.Val()), now)
	}
	return liveSession(tenantID, id, hcmd.Val(), pcmd.Val(), now)
}

// liveSession decodes a session hash read with its tenant's partner, and
// answers ErrNotFound for a missing or expired one.
func liveSession(tenantID, id string, fields map[string]string, tenantPartner string, now time.Time) (session.Session, error) {
	sess, ok := decode(tenantID, id, fields)
	sess.PartnerID = partnerOf(tenantPartner, sess.PartnerID)
	if !ok || !sess.ExpiresAt.After(now) {
		return session.Session{}, session.ErrNotFound
	}
	return sess, nil
}

// TenantPartner returns the partner recorded for a tenant, "" when none is.
func (s *Store) TenantPartner(ctx context.Context, tenantID string) (string, error) {
	p, err := s.rdb.Get(ctx, tenantKeys(tenantID).partner()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return p, wrap("tenant partner", err)
}

// Touch records activity; with an idle timeout it also moves the expiry.
// It reads the session's user and device type first: touch.lua declares
// the indexes it may move, and they are named after them.
func (s *Store) Touch(ctx context.Context, tenantID, id string, a session.Activity) error {
	k := tenantKeys(tenantID)
	at := a.At
	if at.IsZero() {
		at = s.now()
	}
	var res []any
	for attempt := 0; ; attempt++ {
		f, err := s.rdb.HMGet(ctx, k.session(id), fUser, fDevice).Result()
		if err != nil {
			return wrap("touch: read", err)
		}
		uid, _ := f[0].(string)
		dev, _ := f[1].(string)
		if uid == "" {
			return session.ErrNotFound
		}
		if dev == "" {
			dev = session.DeviceUnknown
		}
		res, err = run(ctx, s.rdb, touchCall{
			hash: k.session(id), all: k.all(), user: k.user(uid), device: k.device(dev), users: k.users(),
			outbox: k.outbox(), partner: k.partner(), unionAll: k.unionAll(), unionUser: k.unionUser(uid),
			id: id, userID: uid, deviceType: dev, nowMS: ms(at), ip: a.IPAddress, appID: a.AppID, appName: a.AppName,
			maxApps: session.MaxApps, history: s.history > 0,
		}).Slice()
		if err != nil {
			return wrap("touch", err)
		}
		// -1: the id now names another user's session; read it again, once.
		if code, _ := res[0].(int64); code != -1 || attempt > 0 {
			break
		}
	}
	if len(res) < 3 {
		return session.ErrNotFound
	}
	if moved, _ := res[1].(int64); moved == 1 {
		// The expiry moved: the views follow at once (the outbox covers a crash).
		exp, _ := res[0].(string)
		partner, _ := res[2].(string)
		m := redis.Z{Score: float64(atoi(exp)), Member: viewMember(tenantID, id)}
		pipe := s.rdb.Pipeline()
		s.touchViews(ctx, pipe, "", id, m)
		if partner != "" {
			s.touchViews(ctx, pipe, partner, id, m)
		}
		outboxDone(ctx, pipe, k, ms(at), id)
		if _, err := pipe.Exec(ctx); err != nil {
			return wrap("touch: views", err)
		}
	}
	return nil
}

// wrap turns redis.Nil into session.ErrNotFound, marks a write refused for
// lack of memory with session.ErrStoreFull and connectivity failures with
// session.ErrUnavailable, and adds context to everything else.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return session.ErrNotFound
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("redisstore: %s: %w", op, err)
	case redis.HasErrorPrefix(err, "OOM"):
		// maxmemory reached with noeviction: only writes that add data fail.
		return fmt.Errorf("redisstore: %s: %w: %w", op, session.ErrStoreFull, err)
	case unavailable(err):
		return fmt.Errorf("redisstore: %s: %w: %w", op, session.ErrUnavailable, err)
	default:
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
}

// unavailable reports whether err means Redis could not serve the call, as
// opposed to a bug in how it was called.
func unavailable(err error) bool {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "TRYAGAIN", "NOREPLICAS", "BUSY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, redis.ErrPoolTimeout) || strings.Contains(err.Error(), "connection")
}

func msDuration(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
