// Package client is the Go client of sessiond for gateways and services.
//
// A Client calls one sessiond deployment. Verify checks a user's bearer token
// against its session (the gateway hot path); the typed calls cover the
// admin, me and tenant endpoints of the Sessions API and the internal ingest
// calls; FollowEvents follows the revocation stream. CachingVerifier puts a
// small, fail-safe cache in front of Verify that the revocation stream keeps
// honest.
//
// Every non-2xx answer is an *Error; compare it with the sentinels
// (ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrValidation,
// ErrUnavailable) using errors.Is.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxResponseBytes bounds how much of a response body the client reads.
const MaxResponseBytes = 4 << 20

// DefaultUserAgent is sent when WithUserAgent is not used.
const DefaultUserAgent = "sessiond-go-client/1"

// Client calls one sessiond deployment. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	hc        *http.Client
	token     string
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client use hc. Leave hc.Timeout at zero when the
// client follows the event stream, which never ends by itself: every call
// takes a context, which is the place for deadlines.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithToken sets the bearer token the client sends on the admin, me, tenant
// and internal calls (Verify sends the token it is given instead).
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the sessiond at baseURL (for example
// "http://sessiond:8080", or with a path prefix when behind a proxy).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base url %q: want http(s)://host[:port][/prefix]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base url %q: no query or fragment allowed", baseURL)
	}
	c := &Client{
		base:      strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		hc:        defaultHTTPClient(),
		userAgent: DefaultUserAgent,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// As returns a copy of c that sends token as its bearer, sharing c's HTTP
// client: for example c.As(userToken).MySessions(ctx).
func (c *Client) As(token string) *Client {
	cc := *c
	cc.token = token
	return &cc
}

// defaultHTTPClient keeps enough idle connections for a gateway's
// concurrent verifies (net/http keeps 2 per host by default), and bounds
// dialling and waiting for headers. It has no overall timeout, which would
// cut the event stream.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

type requestIDKey struct{}

// WithRequestID returns a context whose calls send id as X-Request-ID, so
// that sessiond's logs of the call carry the caller's id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// newRequest builds a request to path (already escaped) with query q and a
// JSON body when body is not nil.
func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body any, bearerToken string) (*http.Request, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: encode body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if bearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+bearerToken)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	return req, nil
}

// send performs req. A transport failure wraps ErrUnavailable, unless ctx
// ended, in which case it wraps the context's error only: the caller gave up,
// which says nothing about the server.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, ctxErr)
		}
		return nil, fmt.Errorf("client: %s %s: %w: %w", req.Method, req.URL.Path, ErrUnavailable, err)
	}
	return resp, nil
}

// call performs one JSON call with the client's token. A 2xx answer is
// decoded into out when out is not nil; anything else becomes an *Error.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	req, err := c.newRequest(ctx, method, path, q, body, c.token)
	if err != nil {
		return err
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer closeBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return responseError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	raw, err := readBody(resp)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("client: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// errTooLarge is returned for a response body over MaxResponseBytes.
var errTooLarge = errors.New("response body exceeds client.MaxResponseBytes")

// readBody reads at most MaxResponseBytes of resp's body.
func readBody(resp *http.Response) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w: %w", ErrUnavailable, err)
	}
	if len(raw) > MaxResponseBytes {
		return nil, errTooLarge
	}
	return raw, nil
}

// closeBody drains a little of what is left, so that the connection can be
// reused, and closes the body.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// seg escapes one path segment. Empty, "." and ".." segments would change
// the route the request reaches, so they are refused before any request.
func seg(name, v string) (string, error) {
	if v == "" || v == "." || v == ".." {
		return "", fmt.Errorf("client: %s %q is not a valid path segment: %w", name, v, ErrValidation)
	}
	return url.PathEscape(v), nil
}
