// Command sessiond is the session store service: the Sessions API on Redis.
// With no Redis configured it runs on an embedded in-memory store and prints
// ready-to-use tokens; `sessiond token` mints tokens with the configured secret.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/metrics"
	"github.com/sessiond/sessiond/redisstore"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// defaultGCPercent is the GC target (GOGC) when the environment sets none.
// The verify hot path allocates a few KB per request while the live heap
// stays small (about 5 MB under load): at Go's default of 100 a collection
// ran 17-28 times a second at 30-40k verifies/s (1-2% of the CPU), at 200
// about a third as often, for a heap of about 17 MB. GOGC and GOMEMLIMIT,
// when set, win.
const defaultGCPercent = 200

// tuneGC applies defaultGCPercent unless GOGC is set.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		os.Exit(1)
	}
}

// run starts the command named by args; it returns when ctx ends (the server)
// or when the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err // names variables, never their secret values
	}
	defer func() {
		if err != nil {
			err = redactedError{msg: cfg.Redact(err.Error()), err: err}
		}
	}()
	if len(args) > 0 {
		switch args[0] {
		case "token":
			return mintToken(cfg, args[1:], stdout)
		case "healthcheck":
			return healthcheck(ctx, cfg, args[1:])
		default:
			return fmt.Errorf("unknown command %q (want no command to serve, \"token\" or \"healthcheck\")", args[0])
		}
	}
	return serve(ctx, cfg, stdout, nil)
}

// serve runs the HTTP server until ctx ends, then drains in-flight requests
// and closes Redis. ready, when set, receives the listening address.
func serve(ctx context.Context, cfg config.Config, stdout io.Writer, ready chan<- string) error {
	log, err := newLogger(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	// Libraries that log on their own (the standard log package, and slog,
	// which writes through it: the JWKS refresh) reach the same sink, so
	// their lines are JSON, redacted and escaped too.
	if restore, err := zap.RedirectStdLogAt(log, zapcore.WarnLevel); err == nil {
		defer restore()
	}
	log.Info("starting sessiond", cfg.LogFields()...)

	devTokens := cfg.DevTokens()
	if devTokens {
		devSecret := make([]byte, 32)
		if _, err := rand.Read(devSecret); err != nil {
			return fmt.Errorf("generate dev secret: %w", err)
		}
		cfg.HS256Secret = base64.RawURLEncoding.EncodeToString(devSecret)
	}

	redisstore.SetLogger(func(msg string) { log.Warn("redis client", zap.String("detail", msg)) })
	rdb, closeStore, err := openRedis(cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()

	m := metrics.New(version)
	svc, err := app.New(ctx, app.Options{Config: cfg, Redis: rdb, Log: log, Metrics: m})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := svc.Upgrade(ctx); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (SESSIOND_ADDR): %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           svc.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	srv.RegisterOnShutdown(svc.StartShutdown)
	if cfg.PprofAddr != "" {
		paddr, stopPprof, err := startPprof(cfg.PprofAddr)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopPprof()
		log.Info("pprof listening", zap.String("addr", paddr))
	}
	if devTokens {
		if err := printDevBanner(stdout, cfg, ln.Addr().String()); err != nil {
			return err
		}
	}

	bgCtx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Add(3)
	go func() {
		defer background.Done()
		svc.RunEvents(bgCtx)
	}()
	go func() {
		defer background.Done()
		svc.RunPush(bgCtx)
	}()
	go func() {
		defer background.Done()
		svc.RunSweeper(bgCtx, cfg.SweepInterval, func(res redisstore.SweepResult, err error) { m.Swept(err, res.Pruned) })
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", zap.String("addr", ln.Addr().String()))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-served:
		stopBackground()
		background.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", zap.Duration("timeout", cfg.ShutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	stopBackground()
	background.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("stopped")
	return nil
}

// openRedis connects to the configured Redis, or starts the embedded dev
// store. The returned func closes whatever was opened.
func openRedis(cfg config.Config, log *zap.Logger) (redis.UniversalClient, func(), error) {
	opts := redisstore.ConnectOptions{
		Mode: cfg.RedisMode, URL: cfg.RedisURL, Addrs: cfg.RedisAddrs, Master: cfg.RedisMaster,
		Password: cfg.RedisPassword, TLS: cfg.RedisTLS, Timeout: cfg.RedisTimeout,
	}
	var emb *redisstore.Embedded
	if cfg.DevStore() {
		var err error
		if emb, err = redisstore.StartEmbedded(); err != nil {
			return nil, nil, err
		}
		opts.URL = "redis://" + emb.Addr() + "/0"
		log.Warn("DEV MODE: no SESSIOND_REDIS_URL set, using an embedded in-memory store; NOTHING PERSISTS across restarts")
	}
	rdb, err := redisstore.Connect(opts)
	if err != nil {
		if emb != nil {
			emb.Close()
		}
		return nil, nil, err
	}
	return rdb, func() {
		if err := rdb.Close(); err != nil {
			log.Warn("closing redis", zap.Error(err))
		}
		if emb != nil {
			emb.Close()
		}
	}, nil
}

// logOutput is where the logs go (tests read them).
var logOutput io.Writer = os.Stderr

// newLogger builds the JSON (or console) logger. Every line passes through
// logWriter on its way out: a library's error text may quote a URL with its
// password, and stored text (a user agent) may hold what a terminal acts on.
func newLogger(cfg config.Config) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("SESSIOND_LOG_LEVEL: %w", err)
	}
	ec := zap.NewProductionEncoderConfig()
	enc := zapcore.NewJSONEncoder
	if cfg.LogFormat == "console" {
		ec = zap.NewDevelopmentEncoderConfig()
		enc = zapcore.NewConsoleEncoder
	}
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	sink := zapcore.AddSync(newLogWriter(logOutput, cfg.Secrets()))
	core := zapcore.NewCore(enc(ec), zapcore.Lock(sink), zap.NewAtomicLevelAt(level))
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel), zap.ErrorOutput(sink)), nil
}

// logWriter is the end of every log line (one entry per Write). It masks
// the configuration's secrets, and writes as \u escapes the characters a
// terminal acts on that zap's encoders leave raw: DEL, C1 controls (U+009B
// is CSI), Unicode format characters (bidi overrides such as U+202E,
// zero-width characters) and the line and paragraph separators. The
// encoders escape C0 controls themselves; inside a JSON string the \u
// escape means the same character, so the line still decodes to the stored
// text. A line with neither, which is nearly every line, is written as it
// is, without a copy: the access log is on the verify hot path.
type logWriter struct {
	w       io.Writer
	r       config.Redactor
	secrets [][]byte
}

func newLogWriter(w io.Writer, secrets []string) logWriter {
	lw := logWriter{w: w, r: config.Redactor(secrets)}
	for _, s := range secrets {
		lw.secrets = append(lw.secrets, []byte(s))
	}
	return lw
}

func (lw logWriter) Write(p []byte) (int, error) {
	secret := false
	for _, s := range lw.secrets {
		if bytes.Contains(p, s) {
			secret = true
			break
		}
	}
	if !secret && !hasTerminalRune(p) {
		return lw.w.Write(p)
	}
	line := p
	if secret {
		line = []byte(lw.r.Redact(string(p)))
	}
	if _, err := lw.w.Write(escapeTerminalRunes(line)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// terminalRune reports whether r is one that logWriter escapes.
func terminalRune(r rune) bool {
	return r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r)
}

func hasTerminalRune(p []byte) bool {
	for i := 0; i < len(p); {
		if c := p[i]; c < utf8.RuneSelf {
			if c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if terminalRune(r) {
			return true
		}
		i += size
	}
	return false
}

// escapeTerminalRunes writes each terminalRune of p as a JSON \u escape
// (a surrogate pair above U+FFFF).
func escapeTerminalRunes(p []byte) []byte {
	if !hasTerminalRune(p) {
		return p
	}
	out := make([]byte, 0, len(p)+16)
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case size == 1 && r == utf8.RuneError, !terminalRune(r):
			out = append(out, p[i:i+size]...)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		default:
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
	}
	return out
}

// redactedError is an error whose text has the configuration's secrets
// masked; errors.Is and As still see the original.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }
