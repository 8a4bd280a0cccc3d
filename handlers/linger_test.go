package handlers_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTooLargeBodyGetsItsAnswer: a client that sends Connection: close and
// writes a 2 MiB body in one go before it reads gets the 413, every time,
// not a connection reset (the server lingers, reading and dropping the
// rest of the body).
func TestTooLargeBodyGetsItsAnswer(t *testing.T) {
	e := newEnv(t, backends[0])
	srv := httptest.NewServer(e.router)
	t.Cleanup(srv.Close)
	tok := e.token(t, serviceWrite)
	body := bytes.Repeat([]byte("x"), 2<<20)
	for _, declared := range []bool{true, false} {
		for i := 0; i < 10; i++ {
			conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			var req bytes.Buffer
			fmt.Fprintf(&req, "POST /api/v1/internal/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nConnection: close\r\n", tok)
			if declared {
				fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n", len(body))
				req.Write(body)
			} else {
				// Chunked: the size is found only while reading.
				fmt.Fprintf(&req, "Transfer-Encoding: chunked\r\n\r\n%x\r\n", len(body))
				req.Write(body)
				req.WriteString("\r\n0\r\n\r\n")
			}
			_, werr := conn.Write(req.Bytes())
			res, rerr := http.ReadResponse(bufio.NewReader(conn), nil)
			switch {
			case werr != nil:
				// What urllib does: a failed send is the end, the answer unread.
				t.Fatalf("declared=%v try %d: the request could not be sent whole: %v", declared, i, werr)
			case rerr != nil:
				t.Fatalf("declared=%v try %d: no answer (write: %v): %v", declared, i, werr, rerr)
			case res.StatusCode != http.StatusRequestEntityTooLarge:
				t.Fatalf("declared=%v try %d: status %d, want 413", declared, i, res.StatusCode)
			}
			_ = res.Body.Close()
			_ = conn.Close()
		}
	}
}
