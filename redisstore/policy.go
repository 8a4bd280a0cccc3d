package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/session"
)

// A tenant's session policy, in the tenant's slot so that create.lua reads
// it in the same atomic step that enforces it:
//
//	po:{T}   hash   m: max sessions per user, o: on_limit,
//	                i: idle timeout s, l: max lifetime s (unset fields absent)
//
// It has no expiry: it is configuration, not session data.
const (
	fMaxSessions = "m"
	fOnLimit     = "o"
	fPolicyIdle  = "i"
	fLifetime    = "l"
)

// createRetries bounds how often a create is retried when the user's live
// sessions changed between its read and its script (creates and
// revocations of the same user racing it).
const createRetries = 50

// raceBackoff waits before retry attempt+1 of a create that lost a race: a
// random time up to 100 µs per attempt so far (at most 5 ms), so that many
// creates of one user at once do not keep invalidating each other's reads.
func raceBackoff(ctx context.Context, attempt int) error {
	return sleepCtx(ctx, time.Duration(rand.Int64N(int64(min(attempt+1, 50))*int64(100*time.Microsecond))))
}

// evictionActor is the actor of an eviction's events and audit entry: the
// tenant's policy, not a person.
const evictionActor = "sessiond"

// Policy returns the tenant's effective session policy: its own fields,
// the service default for those it does not set.
func (s *Store) Policy(ctx context.Context, tenantID string) (session.Policy, error) {
	h, err := s.rdb.HGetAll(ctx, tenantKeys(tenantID).policy()).Result()
	if err != nil {
		return session.Policy{}, wrap("policy", err)
	}
	p := session.Policy{
		MaxSessionsPerUser: int(atoi(h[fMaxSessions])),
		OnLimit:            h[fOnLimit],
		IdleTimeout:        time.Duration(atoi(h[fPolicyIdle])) * time.Second,
		MaxLifetime:        time.Duration(atoi(h[fLifetime])) * time.Second,
	}
	return p.Effective(s.policy), nil
}

// SetPolicy replaces the tenant's policy; its zero fields fall back to the
// service default. It applies to later creates only.
func (s *Store) SetPolicy(ctx context.Context, tenantID string, p session.Policy) error {
	key := tenantKeys(tenantID).policy()
	var fields []any
	add := func(name string, v int64) {
		if v > 0 {
			fields = append(fields, name, strconv.FormatInt(v, 10))
		}
	}
	add(fMaxSessions, int64(p.MaxSessionsPerUser))
	add(fPolicyIdle, int64(p.IdleTimeout/time.Second))
	add(fLifetime, int64(p.MaxLifetime/time.Second))
	if p.OnLimit != "" {
		fields = append(fields, fOnLimit, p.OnLimit)
	}
	pipe := s.rdb.TxPipeline()
	pipe.Del(ctx, key)
	if len(fields) > 0 {
		pipe.HSet(ctx, key, fields...)
	}
	_, err := pipe.Exec(ctx)
	return wrap("set policy", err)
}

// newCreateCall names every key and argument of a create's script, the
// eviction record and audit entry it may write included.
func (s *Store) newCreateCall(sess *session.Session, now time.Time) (createCall, error) {
	k := tenantKeys(sess.TenantID)
	hdr, err := json.Marshal(recordHeader{Tenant: sess.TenantID, Reason: session.ReasonSessionLimit, Actor: evictionActor, At: ms(now)})
	if err != nil {
		return createCall{}, fmt.Errorf("redisstore: create: record header: %w", err)
	}
	c := createCall{
		hash: k.session(sess.ID), all: k.all(), user: k.user(sess.UserID), device: k.device(sess.DeviceType),
		users: k.users(), partner: k.partner(), created: k.created(now), outbox: k.outbox(), adoption: k.adoption(),
		policy: k.policy(), revokedCounter: k.revoked(now), records: k.records(),
		ended: k.ended(), endedDrop: k.endedDrop(), endedAll: k.endedAll(), endedUser: k.endedUser(sess.UserID),
		audit: k.audit(), auditOrder: k.auditOrder(),
		unionAll: k.unionAll(), unionUser: k.unionUser(sess.UserID), endedUserDrop: k.endedUserDrop(sess.UserID),
		id: sess.ID, userID: sess.UserID, expiresMS: ms(sess.ExpiresAt), absoluteMS: ms(sess.AbsoluteExpiresAt), nowMS: ms(now),
		partnerID: sess.PartnerID, counterTTLSeconds: int(counterTTL.Seconds()),
		defaultMax: s.policy.MaxSessionsPerUser, defaultOnLimit: s.policy.OnLimit,
		recordID: newRecordIDs(now).next(), recordHeader: string(hdr), recordsExpireMS: ms(now.Add(relayHorizon)),
		historyMS: s.history.Milliseconds(), historyMax: s.histMax, auditMax: auditMax,
		fields: encodeFields(sess),
	}
	for _, d := range session.DeviceTypes {
		c.devIdx = append(c.devIdx, k.device(d))
	}
	if s.history > 0 {
		c.auditID = c.recordID
		c.auditHeader, err = auditHeaderOf(session.Revocation{
			Reason: session.ReasonSessionLimit, Actor: evictionActor, ActorRole: "policy", Target: session.AuditTargetUser,
		}, now)
	}
	return c, err
}

// declareLive reads the user's live sessions into the call: the ones its
// script may evict.
func (s *Store) declareLive(ctx context.Context, k keys, c *createCall) error {
	ids, err := s.rdb.ZRangeByScore(ctx, c.user, &redis.ZRangeBy{Min: "(" + itoa(c.nowMS), Max: "+inf"}).Result()
	if err != nil {
		return wrap("create: live sessions", err)
	}
	c.liveIDs, c.liveHashes = ids, make([]string, len(ids))
	for i, id := range ids {
		c.liveHashes[i] = k.session(id)
	}
	return nil
}
