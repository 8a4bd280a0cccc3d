// Command ceiling is the benchmark baseline for the verify hot path: a bare
// gin server whose one route does a single go-redis HGETALL of a session hash
// and answers 200 with its user id in a header. No auth, no validation: the
// most this stack (Go, gin, go-redis, one Redis round trip) can do.
//
//	ceiling -addr 127.0.0.1:9091 -redis redis://127.0.0.1:6390/0 -key 's:{t1}:bench' [-pprof 127.0.0.1:6061]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9091", "listen address")
	url := flag.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	key := flag.String("key", "s:{t1}:bench", "hash to read on every request")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (off when empty)")
	flag.Parse()
	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { _ = http.ListenAndServe(*pprofAddr, mux) }()
	}
	opt, err := redis.ParseURL(*url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/verify", func(c *gin.Context) {
		h, err := rdb.HGetAll(c, *key).Result()
		if err != nil || len(h) == 0 {
			c.Status(http.StatusServiceUnavailable)
			return
		}
		c.Header("X-User-Id", h["u"])
		c.Status(http.StatusOK)
	})
	if err := http.ListenAndServe(*addr, r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
