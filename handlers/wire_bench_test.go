package handlers

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/session"
)

// discardWriter is a ResponseWriter that keeps nothing but the byte count, so
// that an encoding benchmark measures the encoding alone.
type discardWriter struct {
	h http.Header
	n int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func benchSession(i int) session.Session {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return session.Session{
		ID: "sess-" + strconv.Itoa(i), TenantID: "T1", UserID: "u1", PartnerID: "P1",
		UserEmail: "u1@example.com", UserDisplayName: "User One", IPAddress: "203.0.113.42",
		UserAgent:  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.3",
		DeviceType: session.DeviceUnknown, Location: "Berlin, DE",
		CreatedAt: now, LastActivityAt: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour),
		Apps: []session.SSOApp{{ID: "crm", Name: "CRM", AccessedAt: now}, {ID: "wiki", Name: "Wiki", AccessedAt: now}},
	}
}

// BenchmarkEnvelope is the success envelope of one session (GET of a
// session) and of a page of 20 list items (the default page), through
// respond/respondPage as the handlers call them: conversion from the domain,
// JSON encoding, meta.
func BenchmarkEnvelope(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	one := benchSession(0)
	page := make([]session.Session, 20)
	for i := range page {
		page[i] = benchSession(i)
	}
	cases := []struct {
		name string
		f    func(c *gin.Context)
	}{
		{"session", func(c *gin.Context) { respond(c, http.StatusOK, toSessionResponse(one, "sess-0")) }},
		{"page20", func(c *gin.Context) {
			respondPage(c, toListItems(page, "sess-0"), session.Page{Number: 1, PerPage: 20}, 137)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			c, _ := gin.CreateTestContext(w)
			st := &reqState{id: "0b6f8f2e-8d59-4a4c-9a53-5f0c1c1f6b1e", keys: map[any]any{}}
			st.keys[keyState] = st
			c.Keys = st.keys
			b.ReportAllocs()
			for b.Loop() {
				tc.f(c)
			}
			b.ReportMetric(float64(w.n)/float64(b.N), "B/resp")
		})
	}
}
