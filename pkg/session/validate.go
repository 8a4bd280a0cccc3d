package session

import "strings"

// Identifier rules, the one grammar of every id sessiond accepts. Ids end up
// inside Redis keys and hash tags and in URL paths, so the characters are
// limited, limits bound every key's length, and an id made only of dots is
// refused: "." and ".." are dot-segments that curl, browsers, nginx and
// other normalising clients and proxies rewrite out of a path (RFC 3986
// 5.2.4), so /api/v1/tenants/../sessions would reach another route.
//
//	session id          1..128 of [A-Za-z0-9_-]
//	tenant, partner id  1..128 of [A-Za-z0-9._-], not only dots
//	user id             1..256 of [A-Za-z0-9._@:|+-], not only dots
const (
	MaxIDLen     = 128
	MaxUserIDLen = 256
)

// ValidID reports whether s is a valid session id: 1..128 of [A-Za-z0-9_-].
func ValidID(s string) bool { return validChars(s, MaxIDLen, "_-") }

// ValidTenantID reports whether s is a valid tenant or partner id:
// 1..128 of [A-Za-z0-9._-], not only dots.
func ValidTenantID(s string) bool { return validChars(s, MaxIDLen, "._-") }

// ValidUserID reports whether s is a valid user id: 1..256 of
// [A-Za-z0-9._@:|+-] (UUIDs, e-mail-like ids, "provider|id" subjects), not
// only dots.
func ValidUserID(s string) bool { return validChars(s, MaxUserIDLen, "._@:|+-") }

// ValidDeviceType reports whether s is one of DeviceTypes.
func ValidDeviceType(s string) bool {
	for _, d := range DeviceTypes {
		if s == d {
			return true
		}
	}
	return false
}

func validChars(s string, maxLen int, extra string) bool {
	return !OnlyDots(s) && Charset(s, maxLen, extra)
}

// Charset reports whether s is 1..maxLen bytes of ASCII letters, digits
// and the bytes of extra: the character rule of every id, and of the other
// short tokens sessiond takes from clients (request ids, IPv6 zones).
func Charset(s string, maxLen int, extra string) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case indexByte(extra, c):
		default:
			return false
		}
	}
	return true
}

// OnlyDots reports whether s is made only of dots ("." and ".." are URL
// dot-segments): no id is.
func OnlyDots(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '.' {
			return false
		}
	}
	return s != ""
}

func indexByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// ValidEventID reports whether s looks like an event id: "<ms>-<seq>" or
// "<ms>" (a whole stream entry; 1..20 digits each), optionally followed by
// ".<i>" (the i-th event of an entry that holds a batch; 1..6 digits).
func ValidEventID(s string) bool {
	if len(s) == 0 || len(s) > 48 {
		return false
	}
	entry, index, batched := strings.Cut(s, ".")
	if batched && !digits(index, 6) {
		return false
	}
	ms, seq, hasSeq := strings.Cut(entry, "-")
	return digits(ms, 20) && (!hasSeq || digits(seq, 20))
}

// digits reports whether s is 1..max decimal digits.
func digits(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
