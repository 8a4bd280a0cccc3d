// Command sessionctl is the command line of sessiond for SREs and admins:
// it lists, inspects, counts and revokes sessions and follows the
// revocation stream over the REST API, through pkg/client.
//
// Every command prints tables by default and the API's data as JSON with
// --output json; progress and summaries go to stderr, so stdout stays data.
// The exit code says what went wrong (see usage).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/sessiond/sessiond/pkg/client"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes; usage lists them.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitDenied      = 4
	exitUnavailable = 5
	exitConflict    = 6
	exitInterrupted = 130
)

// Defaults of the global flags.
const (
	defaultURL     = "http://localhost:8080"
	defaultTimeout = 30 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run runs the command named by args and returns the process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runConsole(ctx, args, console{
		in: os.Stdin, inTTY: isTerminal(os.Stdin),
		out: stdout, err: stderr, errTTY: isTerminal(stderr),
	}, getenv)
}

// console is what a command reads from and writes to. Confirmation prompts
// need a terminal on stdin; progress animates only when stderr is one.
type console struct {
	in     io.Reader
	inTTY  bool
	out    io.Writer
	err    io.Writer
	errTTY bool
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && f != nil && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// globals are the flags every command accepts, before or after its name.
type globals struct {
	url     string
	token   string
	output  string
	timeout time.Duration
}

// register adds the global flags to fs, with their current values as
// defaults so that a value given before the command name survives.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.url, "url", g.url, "")
	fs.StringVar(&g.token, "token", g.token, "")
	fs.StringVar(&g.output, "output", g.output, "")
	fs.StringVar(&g.output, "o", g.output, "")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "")
}

// app is one invocation: the console, the resolved globals and the client.
type app struct {
	console
	globals
	name   string // the command's name, for messages
	client *client.Client
	stream *streamTracker
}

func (a *app) json() bool { return a.output == "json" }

// runConsole is run with the console made explicit, for tests.
func runConsole(ctx context.Context, args []string, con console, getenv func(string) string) int {
	a := &app{console: con, globals: globals{output: "table", timeout: defaultTimeout}}
	root := newFlagSet("sessionctl")
	a.register(root)
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.out, usage)
			return exitOK
		}
		return a.fail(usageErrorf("%v", err))
	}
	rest := root.Args()
	if len(rest) == 0 {
		fmt.Fprint(a.err, usage)
		return exitUsage
	}
	a.name = rest[0]
	cmd, ok := commands[a.name]
	if !ok {
		a.name = ""
		return a.fail(usageErrorf("unknown command %q", rest[0]))
	}
	err := a.runCommand(ctx, cmd, rest[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.out, cmd.usage)
		return exitOK
	}
	return a.fail(err)
}

func (a *app) runCommand(ctx context.Context, cmd *command, args []string, getenv func(string) string) error {
	fs := newFlagSet("sessionctl " + a.name)
	a.register(fs)
	exec := cmd.bind(a, fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if a.url == "" {
		a.url = getenv("SESSIOND_URL")
	}
	if a.url == "" {
		a.url = defaultURL
	}
	if a.token == "" {
		a.token = getenv("SESSIOND_TOKEN")
	}
	if a.output != "table" && a.output != "json" {
		return usageErrorf("--output %q: want table or json", a.output)
	}
	if a.timeout < 0 {
		return usageErrorf("--timeout %s: want 0 (none) or more", a.timeout)
	}
	if !cmd.offline {
		a.stream = &streamTracker{base: newTransport()}
		a.client, err = client.New(a.url,
			client.WithToken(a.token),
			client.WithUserAgent("sessionctl/"+version),
			client.WithHTTPClient(&http.Client{Transport: a.stream}))
		if err != nil {
			return usageErrorf("--url: %v", err)
		}
	}
	err = exec(ctx, pos)
	if err != nil && ctx.Err() != nil && !errors.Is(err, errAborted) {
		return errInterrupted
	}
	return err
}

// call bounds one request with --timeout.
func (a *app) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, a.timeout, errTimeout)
		defer cancel()
	}
	err := fn(ctx)
	if err != nil && errors.Is(context.Cause(ctx), errTimeout) && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within --timeout %s: %w", a.timeout, errTimeout)
	}
	return err
}

// errTimeout is a request that outlived --timeout.
var errTimeout = errors.New("request timed out")

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errInterrupted is returned when the user pressed Ctrl-C mid-command.
var errInterrupted = errors.New("interrupted")

// errAborted is a confirmation the user declined.
var errAborted = errors.New("aborted: nothing was revoked")

// exitCode maps err to the documented exit codes.
func exitCode(err error) int {
	var ue *usageError
	var ce *client.Error
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		switch {
		case ce.Status == http.StatusBadRequest, ce.Status == http.StatusRequestEntityTooLarge,
			ce.Status == http.StatusUnprocessableEntity:
			return exitUsage
		case ce.Status == http.StatusUnauthorized, ce.Status == http.StatusForbidden:
			return exitDenied
		case ce.Status == http.StatusNotFound:
			return exitNotFound
		case ce.Status == http.StatusConflict:
			return exitConflict
		case ce.Status >= 500:
			return exitUnavailable
		}
		return exitError
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.Is(err, client.ErrValidation):
		return exitUsage // a path parameter the client refused to send
	case errors.Is(err, errTimeout), errors.Is(err, client.ErrUnavailable):
		return exitUnavailable
	}
	return exitError
}

// fail prints err (if any) on stderr and returns its exit code.
func (a *app) fail(err error) int {
	if err == nil {
		return exitOK
	}
	prefix := "sessionctl: "
	if a.name != "" {
		prefix += a.name + ": "
	}
	var b strings.Builder
	b.WriteString(prefix)
	var ce *client.Error
	var ue *usageError
	switch {
	case errors.As(err, &ce):
		describe(&b, ce)
	default:
		b.WriteString(safe(err.Error()))
	}
	b.WriteByte('\n')
	switch {
	case errors.As(err, &ue):
		if a.name != "" {
			fmt.Fprintf(&b, "run 'sessionctl help %s' for usage\n", a.name)
		} else {
			b.WriteString("run 'sessionctl help' for usage\n")
		}
	case ce != nil && ce.Status == http.StatusUnauthorized:
		b.WriteString("hint: check --token or $SESSIOND_TOKEN (missing, expired, or signed with another key)\n")
	case ce != nil && ce.Status == http.StatusForbidden && a.name == "watch":
		b.WriteString("hint: watch needs a service token with scope sessions:read\n")
	case ce != nil && ce.Status == http.StatusForbidden:
		b.WriteString("hint: the token's role or scope does not reach this; admin commands need an admin or platform token\n")
	}
	fmt.Fprint(a.err, redact(b.String(), a.token))
	return exitCode(err)
}

// describe writes sessiond's answer: status, detail, every field error of
// a 422 and the request id to find it in sessiond's logs.
func describe(b *strings.Builder, e *client.Error) {
	fmt.Fprintf(b, "sessiond answered %d %s", e.Status, http.StatusText(e.Status))
	switch {
	case len(e.Fields) > 0:
		for _, f := range e.Fields {
			b.WriteString("\n  ")
			for i, l := range f.Loc {
				if i > 0 {
					b.WriteByte('.')
				}
				fmt.Fprint(b, safe(fmt.Sprint(l)))
			}
			b.WriteString(": ")
			b.WriteString(safe(f.Msg))
		}
	case e.Detail != "":
		b.WriteString(": ")
		b.WriteString(safe(e.Detail))
		if e.Reason != "" && !strings.Contains(e.Detail, e.Reason) {
			b.WriteString(" (" + safe(e.Reason) + ")")
		}
	}
	if e.RequestID != "" {
		b.WriteString("\n  request id: " + safe(e.RequestID))
	}
}

// redact hides the token, and anything shaped like a JWT (a token typed
// in the wrong place), from a message.
func redact(msg, token string) string {
	if len(token) >= 8 {
		msg = strings.ReplaceAll(msg, token, "[REDACTED]")
	}
	var b strings.Builder
	for {
		i := strings.Index(msg, "eyJ")
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		j := i
		dots := 0
		for j < len(msg) && (isB64URL(msg[j]) || msg[j] == '.') {
			if msg[j] == '.' {
				dots++
			}
			j++
		}
		b.WriteString(msg[:i])
		if dots >= 2 {
			b.WriteString("[REDACTED]")
		} else {
			b.WriteString(msg[i:j])
		}
		msg = msg[j:]
	}
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
