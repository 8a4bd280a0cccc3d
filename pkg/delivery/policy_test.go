package delivery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessiond/sessiond/pkg/delivery"
)

// TestSendPolicy: the sender applies ValidateURL (http only to loopback in
// dev mode) and, when asked, refuses non-public addresses at dial time;
// neither is retryable and neither reaches the receiver.
func TestSendPolicy(t *testing.T) {
	tlsSrv, tlsHits := receiver(t, func(http.ResponseWriter, *http.Request) {})
	var plainHits atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { plainHits.Add(1) }))
	defer plain.Close()
	tests := []struct {
		name      string
		opts      delivery.Options
		url       string
		wantErr   error // nil = delivered
		wantHits  int64
		plainHits int64
	}{
		{"http refused in production", delivery.Options{}, plain.URL, delivery.ErrInvalidURL, 0, 0},
		{"http to loopback in dev mode", delivery.Options{AllowLoopbackHTTP: true}, plain.URL, nil, 0, 1},
		{"userinfo refused", delivery.Options{TLSConfig: trusting(tlsSrv)}, strings.Replace(tlsSrv.URL, "https://", "https://u:p@", 1), delivery.ErrInvalidURL, 0, 0},
		{"loopback denied", delivery.Options{TLSConfig: trusting(tlsSrv), DenyPrivateNetworks: true}, tlsSrv.URL, delivery.ErrDeniedAddress, 0, 0},
		{"loopback allowed by default", delivery.Options{TLSConfig: trusting(tlsSrv)}, tlsSrv.URL, nil, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlsHits.Store(0)
			plainHits.Store(0)
			_, err := delivery.NewSender(tc.opts).Send(context.Background(), delivery.Request{URL: tc.url, ContentType: "text/plain"})
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("got %v, want delivered", err)
				}
			} else if !errors.Is(err, tc.wantErr) || delivery.Retryable(err) {
				t.Errorf("got %v (retryable %v), want %v, not retryable", err, delivery.Retryable(err), tc.wantErr)
			}
			if tlsHits.Load() != tc.wantHits || plainHits.Load() != tc.plainHits {
				t.Errorf("hits: got tls %d plain %d, want %d and %d", tlsHits.Load(), plainHits.Load(), tc.wantHits, tc.plainHits)
			}
		})
	}
}

func TestDenyPrivate(t *testing.T) {
	tests := []struct {
		addr string
		deny bool
	}{
		{"127.0.0.1:443", true},
		{"10.1.2.3:443", true},
		{"172.16.0.1:443", true},
		{"192.168.1.1:443", true},
		{"169.254.169.254:80", true},
		{"100.64.0.1:443", true},
		{"0.0.0.0:443", true},
		{"224.0.0.1:443", true},
		{"[::1]:443", true},
		{"[fe80::1%eth0]:443", true},
		{"[fc00::1]:443", true},
		{"[::ffff:10.0.0.1]:443", true},
		{"[::]:443", true},
		{"not-an-address", true},
		{"8.8.8.8:443", false},
		{"100.128.0.1:443", false},
		{"[2001:4860:4860::8888]:443", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := delivery.DenyPrivate("tcp", tc.addr, nil)
			if got := errors.Is(err, delivery.ErrDeniedAddress); got != tc.deny {
				t.Errorf("got %v, want denied=%v", err, tc.deny)
			}
		})
	}
}
