package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
)

// Revocation push (pkg/receiver): the receivers of a tenant, a partner or
// the platform and the deliveries that failed past their retries, in the
// owner's slot ({T}, {p:P} or {#g}), and the consumer group that shares the
// revocation stream among the instances.
//
//	rc:{T}          hash  receiver id -> JSON of the receiver (no expiry: configuration)
//	dl:{T}:<id>     list  the receiver's failed deliveries, newest first (at most receiver.MaxFailures)
//	rc:{p:P}, dl:{p:P}:<id>   the same for the partner's receivers
//	rc:{#g}, dl:{#g}:<id>     the same for the platform's receivers
//	ev:{#revocations} group "push": every instance is a consumer
var (
	_ receiver.Store = (*Store)(nil)
	_ receiver.Queue = (*Store)(nil)
)

// pushGroup is the consumer group of the instances that deliver.
const pushGroup = "push"

type storedReceiver struct {
	URL       string   `json:"url"`
	Kind      string   `json:"kind"`
	Audience  string   `json:"aud"`
	Events    []string `json:"events,omitempty"`
	CreatedAt int64    `json:"at"`
}

type storedFailure struct {
	Event     storedEvent `json:"e"`
	Attempts  int         `json:"n"`
	LastError string      `json:"err"`
	At        int64       `json:"at"`
}

type storedEvent struct {
	ID, Type, SessionID, UserID, TenantID, PartnerID, Reason, Actor string
	RevokedAt                                                       int64
}

// AddReceiver stores r; receiver.ErrTooMany beyond receiver.MaxPerOwner.
func (s *Store) AddReceiver(ctx context.Context, r receiver.Receiver) error {
	b, err := json.Marshal(storedReceiver{URL: r.URL, Kind: r.Kind, Audience: r.Audience, Events: r.Events, CreatedAt: ms(r.CreatedAt)})
	if err != nil {
		return err
	}
	n, err := run(ctx, s.rdb, addReceiverCall{receivers: ownerKeys(r.Owner).receivers(), id: r.ID, receiver: string(b), max: receiver.MaxPerOwner}).Int()
	if err != nil {
		return wrap("add receiver", err)
	}
	if n == 0 {
		return receiver.ErrTooMany
	}
	return nil
}

// Receivers lists an owner's receivers, oldest first.
func (s *Store) Receivers(ctx context.Context, o receiver.Owner) ([]receiver.Receiver, error) {
	h, err := s.rdb.HGetAll(ctx, ownerKeys(o).receivers()).Result()
	if err != nil {
		return nil, wrap("receivers", err)
	}
	out := make([]receiver.Receiver, 0, len(h))
	for id, v := range h {
		if r, ok := decodeReceiver(o, id, v); ok {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Receiver returns one receiver.
func (s *Store) Receiver(ctx context.Context, o receiver.Owner, id string) (receiver.Receiver, error) {
	v, err := s.rdb.HGet(ctx, ownerKeys(o).receivers(), id).Result()
	if err != nil {
		return receiver.Receiver{}, wrap("receiver", err)
	}
	r, ok := decodeReceiver(o, id, v)
	if !ok {
		return receiver.Receiver{}, session.ErrNotFound
	}
	return r, nil
}

// DeleteReceiver removes a receiver and its failures.
func (s *Store) DeleteReceiver(ctx context.Context, o receiver.Owner, id string) error {
	k := ownerKeys(o)
	pipe := s.rdb.TxPipeline()
	n := pipe.HDel(ctx, k.receivers(), id)
	pipe.Del(ctx, k.failures(id))
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("delete receiver", err)
	}
	if n.Val() == 0 {
		return session.ErrNotFound
	}
	return nil
}

// AddFailure records a failed delivery, keeping the newest
// receiver.MaxFailures.
func (s *Store) AddFailure(ctx context.Context, r receiver.Receiver, f receiver.Failure) error {
	e := f.Event
	b, err := json.Marshal(storedFailure{
		Event: storedEvent{ID: e.ID, Type: e.Type, SessionID: e.SessionID, UserID: e.UserID, TenantID: e.TenantID,
			PartnerID: e.PartnerID, Reason: e.Reason, Actor: e.Actor, RevokedAt: ms(e.RevokedAt)},
		Attempts: f.Attempts, LastError: f.LastError, At: ms(f.At),
	})
	if err != nil {
		return err
	}
	key := ownerKeys(r.Owner).failures(r.ID)
	pipe := s.rdb.TxPipeline()
	pipe.LPush(ctx, key, b)
	pipe.LTrim(ctx, key, 0, receiver.MaxFailures-1)
	_, err = pipe.Exec(ctx)
	return wrap("add failure", err)
}

// Failures returns a receiver's failures, newest first.
func (s *Store) Failures(ctx context.Context, o receiver.Owner, id string) ([]receiver.Failure, error) {
	vals, err := s.rdb.LRange(ctx, ownerKeys(o).failures(id), 0, -1).Result()
	if err != nil {
		return nil, wrap("failures", err)
	}
	return decodeFailures(vals), nil
}

// TakeFailures removes and returns a receiver's failures, oldest first.
func (s *Store) TakeFailures(ctx context.Context, o receiver.Owner, id string) ([]receiver.Failure, error) {
	key := ownerKeys(o).failures(id)
	pipe := s.rdb.TxPipeline()
	all := pipe.LRange(ctx, key, 0, -1)
	pipe.Del(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap("take failures", err)
	}
	out := decodeFailures(all.Val())
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func decodeReceiver(o receiver.Owner, id, v string) (receiver.Receiver, bool) {
	var sr storedReceiver
	if json.Unmarshal([]byte(v), &sr) != nil {
		return receiver.Receiver{}, false
	}
	return receiver.Receiver{ID: id, Owner: o, URL: sr.URL, Kind: sr.Kind, Audience: sr.Audience,
		Events: sr.Events, CreatedAt: fromMS(sr.CreatedAt)}, true
}

func decodeFailures(vals []string) []receiver.Failure {
	out := make([]receiver.Failure, 0, len(vals))
	for _, v := range vals {
		var sf storedFailure
		if json.Unmarshal([]byte(v), &sf) != nil {
			continue
		}
		e := sf.Event
		out = append(out, receiver.Failure{
			Event: session.Event{ID: e.ID, Type: e.Type, SessionID: e.SessionID, UserID: e.UserID, TenantID: e.TenantID,
				PartnerID: e.PartnerID, Reason: e.Reason, Actor: e.Actor, RevokedAt: fromMS(e.RevokedAt)},
			Attempts: sf.Attempts, LastError: sf.LastError, At: fromMS(sf.At),
		})
	}
	return out
}

// Claim reads new entries for consumer through the push group, creating
// the group (at the stream's current end) the first time; block 0 does not
// wait.
func (s *Store) Claim(ctx context.Context, consumer string, n int, block time.Duration) ([]receiver.Entry, error) {
	if block <= 0 {
		block = -1 // go-redis sends no BLOCK (BLOCK 0 would wait forever)
	}
	args := &redis.XReadGroupArgs{Group: pushGroup, Consumer: consumer, Streams: []string{eventsKey, ">"}, Count: int64(n), Block: block}
	streams, err := s.rdb.XReadGroup(ctx, args).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		if err = s.createGroup(ctx); err == nil {
			streams, err = s.rdb.XReadGroup(ctx, args).Result()
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("push: claim", err)
	}
	var out []receiver.Entry
	for _, st := range streams {
		for _, m := range st.Messages {
			out = append(out, receiver.Entry{ID: m.ID, Events: decodeEntry(m)})
		}
	}
	return out, nil
}

// createGroup creates the push group at the stream's current end: events
// older than the first instance that delivers are not pushed.
func (s *Store) createGroup(ctx context.Context) error {
	err := s.rdb.XGroupCreateMkStream(ctx, eventsKey, pushGroup, "$").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return wrap("push: create group", err)
	}
	return nil
}

// Reclaim takes over entries pending for longer than minIdle (XAUTOCLAIM).
// An entry the stream trimmed meanwhile is acknowledged and skipped.
func (s *Store) Reclaim(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]receiver.Entry, error) {
	msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: eventsKey, Group: pushGroup, Consumer: consumer, MinIdle: minIdle, Start: "0-0", Count: int64(n),
	}).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		return nil, s.createGroup(ctx)
	}
	if err != nil {
		return nil, wrap("push: reclaim", err)
	}
	out := make([]receiver.Entry, 0, len(msgs))
	var gone []string
	for _, m := range msgs {
		if m.Values == nil {
			gone = append(gone, m.ID)
			continue
		}
		out = append(out, receiver.Entry{ID: m.ID, Events: decodeEntry(m)})
	}
	if len(gone) > 0 {
		if err := s.Ack(ctx, gone...); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Extend resets the idle time of entries consumer still works on (XCLAIM
// to itself, JUSTID: nothing is read or counted as a delivery).
func (s *Store) Extend(ctx context.Context, consumer string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: eventsKey, Group: pushGroup, Consumer: consumer, Messages: ids}).Err()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return wrap("push: extend", err)
}

// Ack marks entries as delivered to every receiver.
func (s *Store) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("push: ack", s.rdb.XAck(ctx, eventsKey, pushGroup, ids...).Err())
}
