// Package push delivers revocations to the tenants' receivers (relying
// parties): every instance runs a Worker on the shared work queue (the
// revocation stream's consumer group), so the instances split the work and
// an event a dead instance held is taken over by another. Delivery is at
// least once: a stream entry (the events of one revoked batch) is
// acknowledged only once each of its events' receivers got it or had its
// failure recorded, and a redelivery carries the same token id (jti), so a
// receiver can drop duplicates.
package push

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/pkg/delivery"
	"github.com/sessiond/sessiond/pkg/receiver"
	"github.com/sessiond/sessiond/pkg/session"
)

// Encoder builds the signed request one receiver gets for one revocation.
type Encoder interface {
	Encode(r receiver.Receiver, e session.Event) (contentType string, body []byte, err error)
}

// Sender posts one request; an error means it was not delivered (a status
// other than 2xx, a timeout, a refused connection).
type Sender interface {
	Send(ctx context.Context, url, contentType string, body []byte) error
}

// Observer hears what the worker does (metrics); nil methods are fine.
type Observer interface {
	Delivered(kind string, lag time.Duration)
	Retried(kind string)
	Failed(kind string)
}

// Defaults of a Worker's zero fields.
const (
	DefaultTries       = 6
	DefaultPerReceiver = 8
	DefaultInFlight    = 256
	DefaultReclaimIdle = 30 * time.Second
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultMaxDelay    = 30 * time.Second
	DefaultTimeout     = 5 * time.Second
	receiversTTL       = 2 * time.Second
	batch              = 100
)

// Worker delivers the revocations of the queue.
type Worker struct {
	Queue    receiver.Queue
	Store    receiver.Store
	Encoder  Encoder
	Sender   Sender
	Observer Observer
	// Consumer names this instance in the consumer group.
	Consumer string
	// Tries bounds the attempts of one delivery before it is recorded as a
	// failure; PerReceiver bounds the concurrent deliveries to one receiver
	// and InFlight the events in progress in this instance.
	Tries, PerReceiver, InFlight int
	// BaseDelay and MaxDelay shape the retries: full jitter on an
	// exponential backoff, base·2^attempt capped at MaxDelay.
	BaseDelay, MaxDelay time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// ReclaimIdle is how long an event stays pending with a consumer before
	// another takes it over (that consumer died).
	ReclaimIdle time.Duration
	// OnError hears errors of the queue and the store; nil is fine.
	OnError func(error)
	// Sleep waits between attempts (tests record the waits); nil sleeps.
	Sleep func(ctx context.Context, d time.Duration) bool

	mu        sync.Mutex
	receivers map[string]cachedReceivers
	limiter   *delivery.Limiter
	// working holds the entries in progress, which the heartbeat extends.
	working map[string]bool
}

type cachedReceivers struct {
	list []receiver.Receiver
	at   time.Time
}

func (w *Worker) defaults() {
	orDefault(&w.Tries, DefaultTries)
	orDefault(&w.PerReceiver, DefaultPerReceiver)
	orDefault(&w.InFlight, DefaultInFlight)
	orDefault(&w.BaseDelay, DefaultBaseDelay)
	orDefault(&w.MaxDelay, DefaultMaxDelay)
	orDefault(&w.Timeout, DefaultTimeout)
	orDefault(&w.ReclaimIdle, DefaultReclaimIdle)
	if w.OnError == nil {
		w.OnError = func(error) {}
	}
	w.receivers = map[string]cachedReceivers{}
	w.working = map[string]bool{}
	w.limiter = delivery.NewLimiter(w.PerReceiver)
}

// Run claims and delivers entries until ctx ends. Entries in progress then
// stay pending: another instance (or this one, restarted) takes them over.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	inFlight := make(chan struct{}, w.InFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { w.heartbeat(ctx) })
	lastReclaim := time.Time{}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		var entries []receiver.Entry
		var err error
		if time.Since(lastReclaim) >= w.ReclaimIdle/2 {
			lastReclaim = time.Now()
			entries, err = w.Queue.Reclaim(ctx, w.Consumer, w.ReclaimIdle, batch)
		}
		if err == nil && len(entries) == 0 {
			entries, err = w.Queue.Claim(ctx, w.Consumer, batch, time.Second)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.OnError(err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, en := range entries {
			if !w.start(ctx, &wg, inFlight, en) {
				return
			}
		}
	}
}

// start delivers the events of one entry, each in its own goroutine within
// the in-flight bound, and acknowledges the entry once every event is done;
// false when ctx ended first.
func (w *Worker) start(ctx context.Context, wg *sync.WaitGroup, inFlight chan struct{}, en receiver.Entry) bool {
	var entryWG sync.WaitGroup
	var undone atomic.Bool
	w.setWorking(en.ID, true)
	for _, e := range en.Events {
		select {
		case inFlight <- struct{}{}:
		case <-ctx.Done():
			w.setWorking(en.ID, false)
			return false
		}
		entryWG.Add(1)
		wg.Go(func() {
			defer entryWG.Done()
			defer func() { <-inFlight }()
			if !w.handle(ctx, e) {
				undone.Store(true)
			}
		})
	}
	wg.Go(func() {
		entryWG.Wait()
		w.setWorking(en.ID, false)
		if undone.Load() || ctx.Err() != nil {
			return
		}
		if err := w.Queue.Ack(context.WithoutCancel(ctx), en.ID); err != nil {
			w.OnError(err)
		}
	})
	return true
}

func (w *Worker) setWorking(id string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		w.working[id] = true
	} else {
		delete(w.working, id)
	}
}

// heartbeat extends the entries in progress every third of ReclaimIdle, so
// that a slow delivery (a receiver down through its retries) is not taken
// over and delivered again by another instance while this one lives; a
// dead instance stops extending, and its entries are reclaimed.
func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(w.ReclaimIdle / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		ids := make([]string, 0, len(w.working))
		for id := range w.working {
			ids = append(ids, id)
		}
		w.mu.Unlock()
		if err := w.Queue.Extend(ctx, w.Consumer, ids...); err != nil && ctx.Err() == nil {
			w.OnError(err)
		}
	}
}

// handle delivers one event to each receiver that wants it (the
// tenant's, its partner's and the platform's); true when the
// event is done (delivered or failed everywhere), false when ctx ended
// first or the receivers could not be read.
func (w *Worker) handle(ctx context.Context, e session.Event) bool {
	var rs []receiver.Receiver
	for _, o := range receiver.OwnersOf(e.TenantID, e.PartnerID) {
		list, err := w.receiversOf(ctx, o)
		if err != nil {
			w.OnError(err)
			return false
		}
		rs = append(rs, list...)
	}
	var wg sync.WaitGroup
	done := true
	var mu sync.Mutex
	for _, r := range rs {
		if !r.Wants(e.Reason) {
			continue
		}
		wg.Go(func() {
			if !w.deliver(ctx, r, e) {
				mu.Lock()
				done = false
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return done && ctx.Err() == nil
}

// deliver tries one delivery up to Tries times; after the last it records
// the failure. False when ctx ended before either.
func (w *Worker) deliver(ctx context.Context, r receiver.Receiver, e session.Event) bool {
	ct, body, err := w.Encoder.Encode(r, e)
	if err != nil {
		return w.fail(ctx, r, e, 0, err)
	}
	key := r.Owner.String() + "/" + r.ID
	for attempt := 0; ; attempt++ {
		release, lerr := w.limiter.Acquire(ctx, key)
		if lerr != nil {
			return false
		}
		actx, cancel := context.WithTimeout(ctx, w.Timeout)
		err = w.Sender.Send(actx, r.URL, ct, body)
		cancel()
		release()
		if err == nil {
			if w.Observer != nil {
				w.Observer.Delivered(r.Kind, time.Since(e.RevokedAt))
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt+1 >= w.Tries {
			return w.fail(ctx, r, e, attempt+1, err)
		}
		if w.Observer != nil {
			w.Observer.Retried(r.Kind)
		}
		if !w.wait(ctx, RetryDelay(err, attempt, w.BaseDelay, w.MaxDelay, nil)) {
			return false
		}
	}
}

func (w *Worker) fail(ctx context.Context, r receiver.Receiver, e session.Event, attempts int, cause error) bool {
	if w.Observer != nil {
		w.Observer.Failed(r.Kind)
	}
	err := w.Store.AddFailure(context.WithoutCancel(ctx), r, receiver.Failure{Event: e, Attempts: attempts, LastError: cause.Error(), At: time.Now()})
	if err != nil {
		w.OnError(fmt.Errorf("push: record a failed delivery: %w", err))
		return false
	}
	return true
}

// Redeliver tries each failure once more, now; what fails again is
// recorded again. It returns how many were delivered and how many failed.
func (w *Worker) Redeliver(ctx context.Context, r receiver.Receiver, fs []receiver.Failure) (delivered, failed int, err error) {
	for _, f := range fs {
		ct, body, encErr := w.Encoder.Encode(r, f.Event)
		if encErr == nil {
			actx, cancel := context.WithTimeout(ctx, w.timeout())
			encErr = w.Sender.Send(actx, r.URL, ct, body)
			cancel()
		}
		if encErr == nil {
			delivered++
			if w.Observer != nil {
				w.Observer.Delivered(r.Kind, time.Since(f.Event.RevokedAt))
			}
			continue
		}
		failed++
		f.Attempts++
		f.LastError, f.At = encErr.Error(), time.Now()
		if err = w.Store.AddFailure(context.WithoutCancel(ctx), r, f); err != nil {
			return delivered, failed, err
		}
	}
	return delivered, failed, nil
}

func (w *Worker) timeout() time.Duration {
	if w.Timeout > 0 {
		return w.Timeout
	}
	return DefaultTimeout
}

// receiversOf returns an owner's receivers, read at most every
// receiversTTL: a receiver added or removed takes effect within it.
func (w *Worker) receiversOf(ctx context.Context, o receiver.Owner) ([]receiver.Receiver, error) {
	name := o.String()
	w.mu.Lock()
	c, ok := w.receivers[name]
	w.mu.Unlock()
	if ok && time.Since(c.at) < receiversTTL {
		return c.list, nil
	}
	list, err := w.Store.Receivers(ctx, o)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if len(w.receivers) > 10000 {
		w.receivers = map[string]cachedReceivers{}
	}
	w.receivers[name] = cachedReceivers{list: list, at: time.Now()}
	w.mu.Unlock()
	return list, nil
}

func (w *Worker) wait(ctx context.Context, d time.Duration) bool {
	if w.Sleep != nil {
		return w.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// RetryDelay is the wait before retry number attempt+1 after err: the
// jittered delivery.Backoff (rnd as there: nil is the global generator), or
// the receiver's Retry-After when that is longer (capped at max).
func RetryDelay(err error, attempt int, base, max time.Duration, rnd *rand.Rand) time.Duration {
	d := delivery.Backoff(attempt, base, max, rnd)
	var de *delivery.Error
	if errors.As(err, &de) && de.RetryAfter > d {
		d = min(de.RetryAfter, max)
	}
	return d
}

// orDefault sets *p to d when it is zero or negative.
func orDefault[T int | time.Duration](p *T, d T) {
	if *p <= 0 {
		*p = d
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
