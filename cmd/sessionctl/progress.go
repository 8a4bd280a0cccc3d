package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressTick is how often a progress line is redrawn on a terminal.
const progressTick = 100 * time.Millisecond

var spinnerFrames = []string{"|", "/", "-", `\`}

// progress is the progress line of a bulk operation on stderr. On a
// terminal it redraws "<spinner> <status> (<elapsed>)" in place until done;
// elsewhere it prints nothing until done's single summary line, so that logs
// of scripted runs get one line. Status and summary quote flags (tenant and
// user ids) and are escaped like every other text.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time

	mu     sync.Mutex
	status string
	frame  int

	stop chan struct{}
	done chan struct{}
}

func (a *app) startProgress(status string) *progress {
	p := &progress{w: a.err, tty: a.errTTY, start: time.Now(), status: status}
	if !p.tty {
		return p
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.draw()
	go func() {
		defer close(p.done)
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

// set changes the status shown, at once on a terminal.
func (p *progress) set(status string) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
	if p.tty {
		p.draw()
	}
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frame++
	fmt.Fprintf(p.w, "\r%s %s (%s)\x1b[K", spinnerFrames[p.frame%len(spinnerFrames)], safe(p.status),
		time.Since(p.start).Truncate(100*time.Millisecond))
}

func (p *progress) elapsed() time.Duration {
	return time.Since(p.start).Round(time.Millisecond)
}

// finish stops the animation and prints summary (with the elapsed time) as
// the one line that stays; summary "" leaves nothing.
func (p *progress) finish(summary string) {
	if p.tty {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		fmt.Fprint(p.w, "\r\x1b[K")
		p.mu.Unlock()
	}
	if summary != "" {
		fmt.Fprintf(p.w, "%s in %s\n", safe(summary), p.elapsed())
	}
}
