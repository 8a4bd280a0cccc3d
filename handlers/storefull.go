package handlers

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/sessiond/sessiond/pkg/metrics"
)

// storeFullRetryAfter is the Retry-After of a 503 for a full store: memory
// comes back as sessions expire or are revoked, or when the operator acts,
// not within a second.
const storeFullRetryAfter = 30 * time.Second

// storeFullLogEvery bounds the warnings a full store causes: while Redis
// stays full every create would log otherwise.
const storeFullLogEvery = time.Minute

// fullAlarm counts the writes a full store refused and warns about them at
// most once per storeFullLogEvery.
type fullAlarm struct {
	m    *metrics.Metrics
	log  *zap.Logger
	last atomic.Int64 // unix ns of the last warning
}

func (f *fullAlarm) raise(c *gin.Context, err error) {
	if f == nil {
		return
	}
	f.m.StoreFull()
	now := time.Now().UnixNano()
	last := f.last.Load()
	if now-last < int64(storeFullLogEvery) || !f.last.CompareAndSwap(last, now) {
		return
	}
	f.log.Warn("session store is full: Redis refuses writes that add data (maxmemory reached); "+
		"creates and activity answer 503 until memory is freed, revocations still run",
		zap.String("request_id", requestID(c)), zap.String("route", c.FullPath()), zap.Error(err),
		zap.Duration("next_warning_after", storeFullLogEvery))
}

// storeFull answers a write the store refused for lack of memory: 503 with
// Retry-After, a body that says why, a metric and a rate-limited warning.
func storeFull(c *gin.Context, err error) {
	if st := state(c); st != nil {
		st.full.raise(c, err)
	}
	c.Header("Retry-After", strconv.Itoa(int(storeFullRetryAfter.Seconds())))
	detail(c, http.StatusServiceUnavailable, "Session store is full: retry later")
}
