package session_test

import (
	"testing"
	"time"

	"github.com/sessiond/sessiond/pkg/session"
)

func TestStart(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	abs := now.Add(8 * time.Hour)
	classify := func(ua string) string {
		if ua == "iPhone" {
			return session.DeviceMobile
		}
		return session.DeviceDesktop
	}
	tests := []struct {
		name       string
		in         session.Session
		classify   func(string) string
		wantDevice string
		wantExp    time.Time
	}{
		{"no idle timeout: the absolute expiry", session.Session{UserAgent: "iPhone", AbsoluteExpiresAt: abs}, classify, session.DeviceMobile, abs},
		{"idle timeout sooner", session.Session{AbsoluteExpiresAt: abs, IdleTimeout: time.Hour}, classify, session.DeviceDesktop, now.Add(time.Hour)},
		{"idle timeout later than the absolute expiry", session.Session{AbsoluteExpiresAt: abs, IdleTimeout: 9 * time.Hour}, classify, session.DeviceDesktop, abs},
		{"device given", session.Session{DeviceType: session.DeviceBot, UserAgent: "iPhone", AbsoluteExpiresAt: abs}, classify, session.DeviceBot, abs},
		{"no classifier", session.Session{UserAgent: "iPhone", AbsoluteExpiresAt: abs}, nil, session.DeviceUnknown, abs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.in
			s.Start(now, tc.classify)
			if s.DeviceType != tc.wantDevice || !s.ExpiresAt.Equal(tc.wantExp) || !s.CreatedAt.Equal(now) {
				t.Errorf("got device %q, expires %s, created %s; want %q, %s, %s", s.DeviceType, s.ExpiresAt, s.CreatedAt, tc.wantDevice, tc.wantExp, now)
			}
			if !session.ValidID(s.ID) || len(s.ID) != 36 {
				t.Errorf("generated id %q: want a UUID", s.ID)
			}
		})
	}
	a, b := session.NewID(), session.NewID()
	if a == b || a > b {
		t.Errorf("NewID: %q then %q, want distinct ids in creation order", a, b)
	}
	kept := session.Session{ID: "given", AbsoluteExpiresAt: abs}
	kept.Start(now, nil)
	if kept.ID != "given" {
		t.Errorf("Start replaced the given id with %q", kept.ID)
	}
}
