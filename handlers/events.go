package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/session"
)

// eventBatch bounds the events read from the log per round.
const eventBatch = 500

// events: GET /api/v1/internal/sessions/events, the revocation stream as
// Server-Sent Events. The event id is the stream id; a follower resumes with
// Last-Event-ID (or ?last_event_id=) and misses nothing within retention.
// Without one it starts at the current end. When the resume point is older
// than retention allows, an "event: reset" tells the follower to drop what
// it cached before the stream continues from the oldest retained event.
func (a *api) events(c *gin.Context) {
	p := principal(c)
	if err := auth.Internal(p, "sessions:read"); err != nil {
		fail(c, err)
		return
	}
	last, where, name := c.GetHeader("Last-Event-ID"), "header", "last-event-id"
	if last == "" {
		last, where, name = c.Query("last_event_id"), "query", "last_event_id"
	}
	if last != "" && !session.ValidEventID(last) {
		var v ValidationError
		v.add("string_pattern_mismatch", "String should be an event id like 1718000000000-0", where, name)
		fail(c, v)
		return
	}
	var err error
	if last == "" {
		if last, err = a.Events.LastEventID(c); err != nil {
			fail(c, err)
			return
		}
	}
	wake, stop := a.Broker.Subscribe()
	defer stop()

	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = w.WriteString(": connected\n\n")
	if last != "" {
		// The position the stream starts from: a follower that loses the
		// connection before its first event resumes from here.
		_, _ = w.WriteString("id: " + last + "\n\n")
	}
	w.Flush()
	keepAlive := time.NewTicker(a.KeepAlive)
	defer keepAlive.Stop()
	for {
		evs, err := a.Events.EventsAfter(c, last, eventBatch, 0)
		switch {
		case errors.Is(err, session.ErrEventsTrimmed):
			_, _ = w.WriteString("event: reset\ndata: {\"type\":\"stream.reset\",\"detail\":\"events since Last-Event-ID were trimmed by retention; drop cached state\"}\n\n")
			last = ""
			continue
		case err != nil:
			if c.Request.Context().Err() == nil {
				logError(c, err)
				_, _ = w.WriteString("event: error\ndata: {\"detail\":\"session store unavailable\"}\n\n")
				w.Flush()
			}
			return
		}
		for _, e := range evs {
			writeEvent(w, e)
			a.Metrics.EventDelivered(time.Since(e.RevokedAt))
			last = e.ID
		}
		w.Flush()
		if len(evs) == eventBatch {
			continue
		}
		select {
		case <-c.Request.Context().Done():
			return
		case <-a.ShuttingDown:
			return
		case <-wake:
		case <-keepAlive.C:
			_, _ = w.WriteString(": keep-alive\n\n")
			w.Flush()
		}
	}
}

func writeEvent(w gin.ResponseWriter, e session.Event) {
	data, _ := json.Marshal(toEvent(e))
	_, _ = w.WriteString("id: " + e.ID + "\nevent: " + e.Type + "\ndata: ")
	_, _ = w.Write(data)
	_, _ = w.WriteString("\n\n")
}
