package auth

// CachedTokens reports how many verified tokens v caches (tests only).
func CachedTokens(v *Verifier) int { return v.cachedTokens() }
