package client

// SetDropHook makes v call f with each revocation it applies and the number
// of cache entries it dropped. Call it before Run.
func SetDropHook(v *CachingVerifier, f func(sessionID string, dropped int)) { v.dropped = f }

// TokenExpiry exposes tokenExpiry.
var TokenExpiry = tokenExpiry
