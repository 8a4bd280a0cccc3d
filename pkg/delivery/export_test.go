package delivery

// Hooks for the external tests.
var (
	DenyPrivate = denyPrivate
	RetryAfter  = retryAfter
)

func TrackedKeys(l *Limiter) int { return l.keys() }
