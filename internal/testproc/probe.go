package testproc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// PingRESP speaks just enough RESP to see the server at addr answer +PONG
// (not -LOADING), without a client library's retries; timeout bounds the
// exchange. It is the readiness probe of redis-server and redis-sentinel.
func PingRESP(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// RedisReady is the readiness probe of a Redis process.
func RedisReady(addr string) error { return PingRESP(addr, 500*time.Millisecond) }

// TCPReady is a readiness probe that accepts any listener.
func TCPReady(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
	if err != nil {
		return err
	}
	return c.Close()
}

// HTTPReady returns a readiness probe that wants 200 from GET
// http://<addr><path>.
func HTTPReady(path string) func(addr string) error {
	return func(addr string) error {
		url := "http://" + addr + path
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}
