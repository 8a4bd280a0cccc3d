// Package delivery POSTs signed tokens to receivers over HTTP: one attempt
// per Send, with a timeout, TLS verified against the system roots, no
// redirects and a bounded read of the response. It also validates receiver
// URLs, computes retry delays (Backoff) and bounds concurrency per receiver
// (Limiter). Retries, dead letters and queues belong to the caller.
//
// The package never logs, and its errors never contain a URL: a receiver URL
// may carry a secret in its query.
package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

const (
	// DefaultTimeout bounds one attempt (connect, TLS, request, response)
	// when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// MaxResponseBytes is how much of a response body Send reads and keeps.
	MaxResponseBytes = 64 << 10
	// MaxRetryAfter caps Error.RetryAfter, whatever the receiver asks.
	MaxRetryAfter = time.Hour
	// maxDrainBytes is how much more Send discards so that the connection
	// can be reused; past that it closes the connection instead.
	maxDrainBytes = 256 << 10
)

// ErrDeniedAddress is wrapped by Send's error when Options.DenyPrivateNetworks
// is set and the receiver's host resolves to a loopback, private, link-local,
// shared (100.64.0.0/10), unspecified or multicast address. It is not
// retryable.
var ErrDeniedAddress = errors.New("delivery: receiver address is not public")

// Options configures a Sender. The zero value is production-ready.
type Options struct {
	// Timeout bounds each attempt; DefaultTimeout when zero.
	Timeout time.Duration
	// TLSConfig is cloned for the connections. Nil: TLS 1.2 or later,
	// verified against the system roots (so SSL_CERT_FILE and
	// SSL_CERT_DIR apply). Tests set RootCAs to trust their server.
	TLSConfig *tls.Config
	// AllowLoopbackHTTP lets http:// URLs to loopback hosts through, as
	// ValidateURL does in dev mode.
	AllowLoopbackHTTP bool
	// DenyPrivateNetworks refuses to connect to non-public addresses,
	// checked on the address actually dialed (so DNS cannot smuggle one
	// in). It also disables proxies, which would hide the destination.
	// Without it, HTTPS_PROXY and NO_PROXY apply as usual in Go.
	DenyPrivateNetworks bool
	// UserAgent is sent as User-Agent; "sessiond" when empty.
	UserAgent string
}

// Request is one delivery attempt.
type Request struct {
	// URL is the receiver's endpoint; it must pass ValidateURL.
	URL string
	// ContentType is sent as Content-Type when not empty.
	ContentType string
	// Body is the request body.
	Body []byte
}

// Response is what the receiver answered.
type Response struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Body holds at most MaxResponseBytes of the response body.
	Body []byte
}

// Error is a failed attempt that may succeed later: a non-2xx status
// (StatusCode set, redirects included) or a transport failure (StatusCode
// 0, Err set: refused connection, TLS failure, timeout…).
type Error struct {
	// StatusCode is the receiver's status, 0 when there was no response.
	StatusCode int
	// RetryAfter is the receiver's Retry-After (seconds or HTTP date),
	// between 0 and MaxRetryAfter; 0 when absent.
	RetryAfter time.Duration
	// Err is the transport failure, without the URL.
	Err error
}

// Error describes the failure without the URL.
func (e *Error) Error() string {
	switch {
	case e.StatusCode >= 300 && e.StatusCode < 400:
		return fmt.Sprintf("delivery: receiver answered %d %s (redirects are not followed)", e.StatusCode, http.StatusText(e.StatusCode))
	case e.StatusCode != 0:
		return fmt.Sprintf("delivery: receiver answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	default:
		return "delivery: " + e.Err.Error()
	}
}

// Unwrap returns the transport failure.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether a later attempt may succeed: true for *Error,
// except a denied address; false for nil, invalid URLs and anything else.
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && !errors.Is(err, ErrDeniedAddress)
}

// Sender POSTs requests to receivers. It is safe for concurrent use and
// keeps connections alive between attempts.
type Sender struct {
	client            *http.Client
	timeout           time.Duration
	allowLoopbackHTTP bool
	userAgent         string
}

// NewSender returns a Sender configured by o.
func NewSender(o Options) *Sender {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tlsConf = o.TLSConfig.Clone()
	}
	dialer := &net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if o.DenyPrivateNetworks {
		dialer.Control = denyPrivate
		proxy = nil
	}
	tr := &http.Transport{
		Proxy:                  proxy,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConf,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    DefaultTimeout,
		MaxResponseHeaderBytes: MaxResponseBytes,
	}
	s := &Sender{
		client: &http.Client{
			Transport: tr,
			// A redirect could send the token to another host: never follow
			// one; the 3xx is a failed attempt.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:           o.Timeout,
		allowLoopbackHTTP: o.AllowLoopbackHTTP,
		userAgent:         o.UserAgent,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.userAgent == "" {
		s.userAgent = "sessiond"
	}
	return s
}

// Send POSTs r.Body to r.URL with r.ContentType and Accept
// application/json, within the sender's timeout. A 2xx status is delivered
// (nil error). Any other status, and any transport failure, is an *Error
// (see Retryable); a URL that fails ValidateURL under the sender's policy
// is an error wrapping ErrInvalidURL, sent nowhere. The Response carries
// the status and up to MaxResponseBytes of the body whenever there was one.
func (s *Sender) Send(ctx context.Context, r Request) (Response, error) {
	if err := ValidateURL(r.URL, s.allowLoopbackHTTP); err != nil {
		return Response{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Response{}, &Error{Err: withoutURL(err)}
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return Response{}, &Error{Err: withoutURL(err)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainBytes))
	resp.Body.Close()
	out := Response{StatusCode: resp.StatusCode, Body: body}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return out, nil
	}
	return out, &Error{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// withoutURL drops the *url.Error layer, whose message repeats the URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After value (delay-seconds or HTTP-date) into a
// delay in [0, MaxRetryAfter]; 0 when absent or malformed.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), which
// netip does not count as private.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// denyPrivate is a net.Dialer Control hook: it runs on the resolved address
// just before connecting.
func denyPrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDeniedAddress, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDeniedAddress, err)
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip) {
		return fmt.Errorf("%w: %s", ErrDeniedAddress, ip)
	}
	return nil
}
