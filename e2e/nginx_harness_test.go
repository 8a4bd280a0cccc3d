package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"
)

// nginxInstallHint ends every error about a missing nginx.
const nginxInstallHint = "install it with `apt-get install -y nginx` (Debian/Ubuntu; it includes the auth_request module)"

// shippedNginxConf is the snippet deploy/gateways/README.md tells users to
// install; the tests run exactly this file, with addresses substituted.
const shippedNginxConf = "../deploy/gateways/nginx/sessiond.conf"

// The lines of the shipped snippet the tests replace, each exactly once.
const (
	confSessiondLine = "server sessiond:8080;"
	confAppLine      = "server app:8000;"
	confListenLine   = "listen 80;"
)

// renderNginxConf returns the shipped snippet with sessiond, the application
// and the listen address replaced by the given loopback addresses.
func renderNginxConf(t *testing.T, sessiondAddr, appAddr, listenAddr string) string {
	t.Helper()
	b, err := os.ReadFile(shippedNginxConf)
	if err != nil {
		t.Fatalf("read the shipped nginx snippet: %v", err)
	}
	conf := string(b)
	for _, r := range []struct{ old, new string }{
		{confSessiondLine, "server " + sessiondAddr + ";"},
		{confAppLine, "server " + appAddr + ";"},
		{confListenLine, "listen " + listenAddr + ";"},
	} {
		if n := strings.Count(conf, r.old); n != 1 {
			t.Fatalf("%s has %q %d times, want once: keep the e2e-marked lines in step with e2e/nginx_harness_test.go", shippedNginxConf, r.old, n)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	return conf
}

// nginxPath finds the nginx binary; Debian installs it in /usr/sbin, which
// is not on every user's PATH.
func nginxPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Fatalf("nginx not found in PATH or /usr/sbin: %s", nginxInstallHint)
	return ""
}

// nginx is a running nginx master process.
type nginx struct {
	URL  string
	proc *testproc.Proc
}

// startNginx runs the shipped snippet in a real nginx, in front of appAddr,
// asking sessiondAddr. It is stopped when the test ends.
func startNginx(t *testing.T, sessiondAddr, appAddr string) *nginx {
	t.Helper()
	bin := nginxPath(t)
	p, err := testproc.Retry(context.Background(), 1, func(ports []int) (testproc.Spec, error) {
		return nginxSpec(t, bin, sessiondAddr, appAddr, testproc.Addr(ports[0]))
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	n := &nginx{URL: "http://" + p.Addr, proc: p}
	t.Cleanup(func() {
		// The master reaps its workers before it exits.
		_ = p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("nginx output:\n%s", p.Output())
		}
	})
	return n
}

// nginxSpec writes the configuration of an nginx listening on listen into a
// directory of its own, and says how to start it.
func nginxSpec(t *testing.T, bin, sessiondAddr, appAddr, listen string) (testproc.Spec, error) {
	t.Helper()
	dir := t.TempDir()
	site := filepath.Join(dir, "sessiond.conf")
	if err := os.WriteFile(site, []byte(renderNginxConf(t, sessiondAddr, appAddr, listen)), 0o644); err != nil {
		return testproc.Spec{}, err
	}
	// The main file stands for the distribution's nginx.conf: it includes
	// the snippet in the http context and keeps every path inside dir.
	main := fmt.Sprintf(`events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[2]s;
}
`, dir, site)
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o644); err != nil {
		return testproc.Spec{}, err
	}
	global := fmt.Sprintf("daemon off; master_process on; worker_processes 2; pid %s/nginx.pid; error_log stderr notice;", dir)
	if os.Geteuid() == 0 {
		// As root, workers would switch to "nobody", who cannot enter the
		// test's private temporary directory.
		global += " user root;"
	}
	return testproc.Spec{
		Name: "nginx", Path: bin, Args: []string{"-p", dir + "/", "-c", mainPath, "-e", "stderr", "-g", global},
		Addr: listen, Ready: testproc.TCPReady,
	}, nil
}
