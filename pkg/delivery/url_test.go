package delivery_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/delivery"
)

func TestValidateURL(t *testing.T) {
	long := "https://rp.example.com/" + strings.Repeat("a", delivery.MaxURLLength-len("https://rp.example.com/"))
	tests := []struct {
		name    string
		url     string
		dev     bool
		wantErr string // "" = valid
	}{
		{"https", "https://rp.example.com/backchannel-logout", false, ""},
		{"https with port and query", "https://rp.example.com:8443/caep?tenant=t1", false, ""},
		{"https IPv6", "https://[2001:db8::1]/logout", false, ""},
		{"upper-case scheme", "HTTPS://rp.example.com/", false, ""},
		{"exactly the maximum length", long, false, ""},
		{"one byte too long", long + "a", false, "longer than"},
		{"empty", "", false, "empty"},
		{"http in production", "http://rp.example.com/logout", false, "must be https"},
		{"http loopback in production", "http://127.0.0.1:9000/logout", false, "must be https"},
		{"http loopback IPv4 in dev", "http://127.0.0.1:9000/logout", true, ""},
		{"http loopback 127/8 in dev", "http://127.1.2.3/logout", true, ""},
		{"http localhost in dev", "http://LocalHost:9000/logout", true, ""},
		{"http IPv6 loopback in dev", "http://[::1]:9000/logout", true, ""},
		{"http remote host in dev", "http://rp.example.com/logout", true, "loopback"},
		{"http private address in dev", "http://10.0.0.1/logout", true, "loopback"},
		{"http localhost lookalike in dev", "http://localhost.evil.example/logout", true, "loopback"},
		{"https in dev", "https://rp.example.com/", true, ""},
		{"userinfo", "https://user:pass@rp.example.com/", false, "userinfo"},
		{"user only", "https://user@rp.example.com/", false, "userinfo"},
		{"fragment", "https://rp.example.com/logout#x", false, "fragment"},
		{"empty fragment", "https://rp.example.com/logout#", false, "fragment"},
		{"relative", "/logout", false, "not an absolute URL"},
		{"scheme-relative", "//rp.example.com/logout", false, "not an absolute URL"},
		{"opaque", "https:rp.example.com", false, "not an absolute URL"},
		{"no host", "https:///logout", false, "no host"},
		{"port only", "https://:443/logout", false, "no host"},
		{"port zero", "https://rp.example.com:0/", false, "out of range"},
		{"port too large", "https://rp.example.com:70000/", false, "out of range"},
		{"other scheme", "ftp://rp.example.com/", false, "scheme must be https"},
		{"javascript", "javascript:alert(1)", false, "not an absolute URL"},
		{"whitespace", "https://rp.example.com/a b", false, "whitespace"},
		{"newline", "https://rp.example.com/\nHost: x", false, "whitespace"},
		{"control character", "https://rp.example.com/\x00", false, "invalid"},
		{"bad host", "https://rp.exa%zzmple.com/", false, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := delivery.ValidateURL(tc.url, tc.dev)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("got %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, delivery.ErrInvalidURL) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want ErrInvalidURL mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// TestValidateURLDoesNotRepeatURL: the error never echoes the URL, which
// may hold a secret in its query, even when url.Parse's own error would.
func TestValidateURLDoesNotRepeatURL(t *testing.T) {
	for _, u := range []string{
		"https://rp.exa%zzmple.com/?token=SECRET",
		"http://rp.example.com/?token=SECRET",
		"https://u:SECRET@rp.example.com/",
		"https://rp.example.com/\x7f?token=SECRET",
	} {
		if err := delivery.ValidateURL(u, false); err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q: got %v, want an error without the URL", u, err)
		}
	}
}
