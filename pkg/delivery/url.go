package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLength bounds a receiver URL, in bytes.
const MaxURLLength = 2048

// ErrInvalidURL is wrapped by ValidateURL's errors, and by Send's when the
// URL breaks the sender's policy. It is not retryable. The messages never
// repeat the URL, which may carry a secret in its query.
var ErrInvalidURL = errors.New("delivery: invalid receiver URL")

// ValidateURL checks a receiver URL: at most MaxURLLength bytes, absolute,
// with a host, no userinfo, no fragment, no whitespace, a port (if any) in
// 1–65535, and scheme https. Scheme http is accepted only when
// allowLoopbackHTTP is set (dev mode) and the host is loopback: localhost,
// 127.0.0.0/8 or ::1. A query is allowed.
func ValidateURL(raw string, allowLoopbackHTTP bool) error {
	switch {
	case raw == "":
		return invalidURL("empty")
	case len(raw) > MaxURLLength:
		return invalidURL("longer than %d bytes", MaxURLLength)
	case strings.ContainsAny(raw, " \t\r\n"):
		return invalidURL("contains whitespace")
	case strings.Contains(raw, "#"):
		return invalidURL("has a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL
		}
		return invalidURL("%v", err)
	}
	switch {
	case !u.IsAbs() || u.Opaque != "":
		return invalidURL("not an absolute URL")
	case u.User != nil:
		return invalidURL("has userinfo (user:password@): put credentials elsewhere")
	case u.Hostname() == "":
		return invalidURL("has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalidURL("port %q out of range", p)
		}
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if !allowLoopbackHTTP {
			return invalidURL("scheme must be https")
		}
		if !isLoopback(u.Hostname()) {
			return invalidURL("http is allowed only to a loopback host in dev mode")
		}
		return nil
	default:
		return invalidURL("scheme must be https, got %q", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func invalidURL(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidURL}, a...)...)
}
