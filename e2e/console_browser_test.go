package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is one headless Debian chromium, driven over the DevTools
// protocol, with one tab that the console test's steps share.
type browser struct {
	ctx context.Context
	// dialogs counts alert/confirm/prompt dialogs the page opened: the
	// console opens none, so any is a script that should not have run.
	dialogs atomic.Int32

	mu       sync.Mutex
	problems []string // uncaught exceptions, CSP and Trusted Types reports
}

// chromiumPath finds Debian's chromium, failing (not skipping) without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("chromium not found: the console tests drive a real browser; install Debian's chromium " +
		"(sudo apt-get install -y chromium), as .ci/run does")
	return ""
}

// startBrowser starts chromium for the whole test and stops it at the end.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
		// No network but loopback here: keep chromium from trying.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-default-browser-check", true),
	)
	// Bounds the whole browser session, so that a hung browser fails the
	// test rather than hanging it.
	root, cancelRoot := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelRoot() })

	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dialogs := make(chan struct{}, 16)
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			b.dialogs.Add(1)
			b.problem("dialog opened: " + ev.Message)
			select {
			case dialogs <- struct{}{}:
			default:
			}
		case *runtime.EventExceptionThrown:
			b.problem("uncaught exception: " + (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *log.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, "Content Security Policy") || strings.Contains(ev.Entry.Text, "Trusted Type") {
				b.problem("policy violation: " + ev.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	// A dialog blocks the page until answered: dismiss each one, so that a
	// script that should not have run fails the test instead of hanging it.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-dialogs:
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}
	}()
	return b
}

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// Problems returns what the page did wrong so far.
func (b *browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// stepTimeout bounds each browser step.
const stepTimeout = 15 * time.Second

// do runs actions on the tab within stepTimeout.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, b.state(t))
	}
}

// typeInto empties the input with the id, then types keys into it as a
// person would ("\r" is Enter).
func (b *browser) typeInto(t *testing.T, id, keys string) {
	t.Helper()
	eval[chromedp.Void](t, b, `document.getElementById(`+jsString(id)+`).value = ''`)
	b.do(t, "type "+jsString(keys)+" into #"+id, chromedp.SendKeys(chromedp.ID(id), keys))
}

// eval evaluates a JavaScript expression in the page (through DevTools,
// which the page's CSP does not govern) and decodes its JSON value.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true. chromedp's Poll
// compiles its predicate with new Function in the page, which the console's
// CSP forbids, so the loop runs here.
func (b *browser) waitFor(t *testing.T, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not true after %s (%s, last error %v); page: %s", what, stepTimeout, cond, lastErr, b.state(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// state describes the page for a failure message: the address, the
// notice, the status line and the visible sections.
func (b *browser) state(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		url: location.pathname + location.hash,
		notice: document.getElementById('notice')?.textContent,
		status: document.getElementById('status')?.textContent,
		visible: [...document.querySelectorAll('main > section')].filter(s => !s.hidden).map(s => s.id),
		pageInfo: document.getElementById('page-info')?.textContent,
	})`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return v + fmt.Sprintf(" problems=%q", b.Problems())
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
