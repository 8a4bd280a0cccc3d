package delivery

import (
	"math/rand/v2"
	"time"
)

// Backoff returns the delay before retry number attempt (0 for the first
// retry), with exponential backoff and full jitter: uniform in
// [0, min(maxDelay, base·2^attempt)). Spreading retries over the whole
// window keeps deliveries that failed together from retrying together. A
// negative attempt counts as 0; base or maxDelay ≤ 0 gives 0. With rnd nil
// it uses the global generator; with rnd set the result is a deterministic
// function of rnd's state (rnd is not safe for concurrent use).
func Backoff(attempt int, base, maxDelay time.Duration, rnd *rand.Rand) time.Duration {
	if base <= 0 || maxDelay <= 0 {
		return 0
	}
	attempt = max(0, min(attempt, 62))
	ceiling := maxDelay
	// base <= maxDelay>>attempt guarantees base<<attempt <= maxDelay, so the
	// shift cannot overflow.
	if base <= maxDelay>>uint(attempt) {
		ceiling = base << uint(attempt)
	}
	if rnd == nil {
		return time.Duration(rand.Int64N(int64(ceiling)))
	}
	return time.Duration(rnd.Int64N(int64(ceiling)))
}
