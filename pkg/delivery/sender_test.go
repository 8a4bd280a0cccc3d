package delivery_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/delivery"
)

// trusting returns a TLS config that trusts srv's certificate only.
func trusting(srv *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// receiver is a TLS receiver that records hits and answers with h.
func receiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestSend: 2xx is delivered; every other status is a retryable *Error
// with the status (and Retry-After); redirects are not followed, to another
// host or the same; bodies are read up to MaxResponseBytes only; the
// request carries the content type, the body, Accept and User-Agent.
func TestSend(t *testing.T) {
	elsewhere, elsewhereHits := receiver(t, func(w http.ResponseWriter, _ *http.Request) {})
	huge := bytes.Repeat([]byte("x"), 10<<20)
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantErr    bool
		wantRetry  time.Duration
		wantBody   int // bytes of response body kept
	}{
		{"200 delivered", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }, 200, false, 0, 2},
		{"202 delivered (RFC 8935)", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }, 202, false, 0, 0},
		{"204 delivered", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, 204, false, 0, 0},
		{"400 fails", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"err":"invalid_request"}`))
		}, 400, true, 0, 25},
		{"500 retryable", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, 500, true, 0, 0},
		{"503 with Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, 503, true, 7 * time.Second, 0},
		{"302 to another host not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
		}, 302, true, 0, -1},
		{"307 to the same host not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/other", http.StatusTemporaryRedirect)
		}, 307, true, 0, -1},
		{"huge 200 body capped", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(huge) }, 200, false, 0, delivery.MaxResponseBytes},
		{"huge 500 body capped", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write(huge)
		}, 500, true, 0, delivery.MaxResponseBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct{ method, ct, accept, ua, body string }
			srv, hits := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got.method, got.ct, got.accept, got.ua, got.body = r.Method, r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("User-Agent"), string(b)
				tc.handler(w, r)
			})
			s := delivery.NewSender(delivery.Options{TLSConfig: trusting(srv)})
			resp, err := s.Send(context.Background(), delivery.Request{
				URL: srv.URL + "/logout?x=1", ContentType: "application/x-www-form-urlencoded", Body: []byte("logout_token=abc"),
			})
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantBody >= 0 && len(resp.Body) != tc.wantBody {
				t.Errorf("body kept: got %d bytes, want %d", len(resp.Body), tc.wantBody)
			}
			if h := hits.Load(); h != 1 {
				t.Errorf("receiver hits: got %d, want 1 (no redirect followed)", h)
			}
			if got.method != http.MethodPost || got.ct != "application/x-www-form-urlencoded" || got.accept != "application/json" ||
				got.ua != "sessiond" || got.body != "logout_token=abc" {
				t.Errorf("request: got %+v", got)
			}
			if !tc.wantErr {
				if err != nil {
					t.Errorf("got %v, want delivered", err)
				}
				return
			}
			var de *delivery.Error
			if !errors.As(err, &de) || de.StatusCode != tc.wantStatus || de.RetryAfter != tc.wantRetry {
				t.Fatalf("got %#v, want *Error with status %d and RetryAfter %v", err, tc.wantStatus, tc.wantRetry)
			}
			if !delivery.Retryable(err) {
				t.Errorf("Retryable(%v): got false, want true", err)
			}
		})
	}
	if h := elsewhereHits.Load(); h != 0 {
		t.Errorf("the redirect target was hit %d times, want 0", h)
	}
}

// TestSendTransportFailures: an untrusted certificate, a timeout and a
// refused connection are retryable *Errors with no status, and no error
// message repeats the URL (whose query may hold a secret).
func TestSendTransportFailures(t *testing.T) {
	untrusted, untrustedHits := receiver(t, func(http.ResponseWriter, *http.Request) {})
	// The slow receiver never answers; it is let go before its server
	// closes (cleanups run last-in first-out).
	unblock := make(chan struct{})
	slow, _ := receiver(t, func(http.ResponseWriter, *http.Request) { <-unblock })
	t.Cleanup(func() { close(unblock) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name  string
		opts  delivery.Options
		url   string
		check func(error) bool
	}{
		{"untrusted certificate (system roots)", delivery.Options{}, untrusted.URL, func(err error) bool {
			var uae x509.UnknownAuthorityError
			return errors.As(err, &uae)
		}},
		{"timeout", delivery.Options{TLSConfig: trusting(slow), Timeout: 200 * time.Millisecond}, slow.URL, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded)
		}},
		{"connection refused", delivery.Options{}, closed, func(err error) bool {
			var oe *net.OpError
			return errors.As(err, &oe)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := delivery.NewSender(tc.opts).Send(context.Background(), delivery.Request{
				URL: tc.url + "/hook/PATHSECRET?token=QUERYSECRET", ContentType: "application/secevent+jwt", Body: []byte("a.b.c"),
			})
			var de *delivery.Error
			if !errors.As(err, &de) || de.StatusCode != 0 || resp.StatusCode != 0 {
				t.Fatalf("got %v (response %d), want *Error without a status", err, resp.StatusCode)
			}
			if !tc.check(err) {
				t.Errorf("got %v, not the expected cause", err)
			}
			if !delivery.Retryable(err) {
				t.Errorf("Retryable: got false, want true")
			}
			if msg := err.Error(); strings.Contains(msg, "SECRET") {
				t.Errorf("error repeats the URL: %q", msg)
			}
		})
	}
	if h := untrustedHits.Load(); h != 0 {
		t.Errorf("untrusted receiver got %d requests, want 0", h)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{"99999999999999", delivery.MaxRetryAfter},
		{"7200", delivery.MaxRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), delivery.MaxRetryAfter},
	}
	for _, tc := range tests {
		t.Run(tc.v, func(t *testing.T) {
			if got := delivery.RetryAfter(tc.v, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"status", &delivery.Error{StatusCode: 500}, true},
		{"transport", &delivery.Error{Err: io.ErrUnexpectedEOF}, true},
		{"denied address", &delivery.Error{Err: delivery.ErrDeniedAddress}, false},
		{"invalid URL", delivery.ErrInvalidURL, false},
		{"other", errors.New("x"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := delivery.Retryable(tc.err); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
