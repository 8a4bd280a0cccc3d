package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/pkg/config"
)

// healthcheck implements `sessiond healthcheck`: it asks the local server's
// /healthz and fails unless it answers 200. Container images without a shell
// use it as their HEALTHCHECK.
func healthcheck(ctx context.Context, cfg config.Config, args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "", "URL to check (default: /healthz on the port of SESSIOND_ADDR)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		_, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return fmt.Errorf("healthcheck: SESSIOND_ADDR: %w", err)
		}
		*url = "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		// url.Parse's error quotes the URL whole, password included.
		return fmt.Errorf("healthcheck: --url %s is not a valid URL", config.RedactURL(*url))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", config.RedactURL(*url), resp.StatusCode)
	}
	return nil
}
