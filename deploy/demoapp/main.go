// Command demoapp is the application behind the gateway in
// docker-compose.yml's gateway profile: it greets the caller by the
// identity the gateway got from sessiond, so a revocation shows as the
// next request being refused before it gets here. Standard library only,
// so that `go run main.go` runs it in a plain golang image.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"time"
)

// identity is what the gateway tells the application about the caller.
type identity struct {
	Greeting  string `json:"greeting"`
	SessionID string `json:"session_id"`
	UserID    string `json:"user_id"`
	TenantID  string `json:"tenant_id"`
	PartnerID string `json:"partner_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// handler answers every request with the caller's identity. The headers
// are trusted because the application is reachable only through the
// gateway, which sets them from sessiond's answer alone.
func handler(w http.ResponseWriter, r *http.Request) {
	id := identity{
		SessionID: r.Header.Get("X-Session-Id"),
		UserID:    r.Header.Get("X-User-Id"),
		TenantID:  r.Header.Get("X-Tenant-Id"),
		PartnerID: r.Header.Get("X-Partner-Id"),
		RequestID: r.Header.Get("X-Request-Id"),
	}
	if id.UserID == "" {
		// Only a misconfigured gateway lets a request through without one.
		http.Error(w, "no identity from the gateway", http.StatusForbidden)
		return
	}
	id.Greeting = "hello " + id.UserID + ", your session is live"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(id)
}

func main() {
	addr := os.Getenv("DEMOAPP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(handler), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("demoapp listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}
