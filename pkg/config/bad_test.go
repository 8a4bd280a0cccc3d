package config_test

import (
	"strings"
	"testing"

	"github.com/sessiond/sessiond/pkg/config"
)

// TestLoadBad checks that each bad value is reported against its variable,
// with the expected explanation, and nothing else is reported.
func TestLoadBad(t *testing.T) {
	const both = config.EnvHS256Secret + " or " + config.EnvJWKSURL
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
		wantMsg string // substring of the problem's message
	}{
		{"addr no port", with(nil, config.EnvAddr, "localhost"), config.EnvAddr, `must be host:port, got "localhost"`},
		{"addr port too big", with(nil, config.EnvAddr, ":65536"), config.EnvAddr, "port between 0 and 65535"},
		{"addr named port", with(nil, config.EnvAddr, ":http"), config.EnvAddr, "port between"},
		{"addr negative port", with(nil, config.EnvAddr, ":-1"), config.EnvAddr, "port between"},
		{"pprof all interfaces", with(nil, config.EnvPprofAddr, ":6060"), config.EnvPprofAddr, `must be a loopback host:port (127.0.0.1, [::1] or localhost), got ":6060"`},
		{"pprof public address", with(nil, config.EnvPprofAddr, "0.0.0.0:6060"), config.EnvPprofAddr, "must be a loopback"},
		{"pprof host name", with(nil, config.EnvPprofAddr, "sessiond:6060"), config.EnvPprofAddr, "must be a loopback"},
		{"pprof no port", with(nil, config.EnvPprofAddr, "127.0.0.1"), config.EnvPprofAddr, "must be host:port"},

		{"redis url scheme", with(nil, config.EnvRedisURL, "http://localhost:6379", config.EnvHS256Secret, secret32), config.EnvRedisURL, "redis:// or rediss://"},
		{"redis url unix", with(nil, config.EnvRedisURL, "unix:///tmp/redis.sock", config.EnvHS256Secret, secret32), config.EnvRedisURL, "redis:// or rediss://"},
		{"redis url no scheme", with(nil, config.EnvRedisURL, "localhost:6379", config.EnvHS256Secret, secret32), config.EnvRedisURL, "redis:// or rediss://"},
		{"redis url bad db", with(nil, config.EnvRedisURL, "redis://localhost:6379/abc", config.EnvHS256Secret, secret32), config.EnvRedisURL, "invalid database number"},
		{"redis url bad option", with(nil, config.EnvRedisURL, "redis://localhost:6379/0?bogus=1", config.EnvHS256Secret, secret32), config.EnvRedisURL, "unexpected option"},
		{"redis url no host", with(nil, config.EnvRedisURL, "redis:///0", config.EnvHS256Secret, secret32), config.EnvRedisURL, "with a host"},
		{"redis url unparseable", with(nil, config.EnvRedisURL, "redis://local host:6379", config.EnvHS256Secret, secret32), config.EnvRedisURL, "redis:// or rediss://"},
		{"redis url in cluster mode", with(cluster, config.EnvRedisURL, "redis://localhost:6379"), config.EnvRedisURL, "only used in standalone mode"},
		{"redis url in sentinel mode", with(sentinel, config.EnvRedisURL, "redis://localhost:6379"), config.EnvRedisURL, "only used in standalone mode"},

		{"mode unknown", with(nil, config.EnvRedisMode, "foo"), config.EnvRedisMode, `must be standalone, cluster or sentinel, got "foo"`},

		{"cluster without addrs", with(cluster, config.EnvRedisAddrs, ""), config.EnvRedisAddrs, "required in cluster mode"},
		{"cluster with only commas", with(cluster, config.EnvRedisAddrs, " , ,"), config.EnvRedisAddrs, "required in cluster mode"},
		{"sentinel without addrs", with(sentinel, config.EnvRedisAddrs, ""), config.EnvRedisAddrs, "required in sentinel mode"},
		{"sentinel without master", with(sentinel, config.EnvRedisMaster, ""), config.EnvRedisMaster, "required in sentinel mode"},
		{"addrs item without port", with(cluster, config.EnvRedisAddrs, "a:7000,b"), config.EnvRedisAddrs, `must be host:port, got "b"`},
		{"addrs item without host", with(cluster, config.EnvRedisAddrs, ":7000"), config.EnvRedisAddrs, "with a host"},
		{"addrs item port 0", with(cluster, config.EnvRedisAddrs, "a:0"), config.EnvRedisAddrs, "port between 1 and 65535"},
		{"addrs in standalone", with(nil, config.EnvRedisAddrs, "a:7000"), config.EnvRedisAddrs, "only used in cluster or sentinel mode"},
		{"master in standalone", with(nil, config.EnvRedisMaster, "m"), config.EnvRedisMaster, "only used in sentinel mode"},
		{"master in cluster", with(cluster, config.EnvRedisMaster, "m"), config.EnvRedisMaster, "only used in sentinel mode"},
		{"password in standalone", with(nil, config.EnvRedisPassword, "pw"), config.EnvRedisPassword, "put the password in SESSIOND_REDIS_URL"},
		{"tls in standalone", with(nil, config.EnvRedisTLS, "true"), config.EnvRedisTLS, "rediss://"},
		{"history not a duration", with(nil, config.EnvHistoryRetention, "7d"), config.EnvHistoryRetention, "must be a duration"},
		{"history below a second", with(nil, config.EnvHistoryRetention, "10ms"), config.EnvHistoryRetention, "at least"},
		{"history above a year", with(nil, config.EnvHistoryRetention, "9000h"), config.EnvHistoryRetention, "at most"},
		{"history cap zero", with(nil, config.EnvHistoryMax, "0"), config.EnvHistoryMax, "between"},
		{"default max sessions negative", with(nil, config.EnvDefaultMaxSessions, "-1"), config.EnvDefaultMaxSessions, "between"},
		{"default max sessions absurd", with(nil, config.EnvDefaultMaxSessions, "10001"), config.EnvDefaultMaxSessions, "between"},
		{"default on_limit unknown", with(nil, config.EnvDefaultOnLimit, "drop"), config.EnvDefaultOnLimit, `must be evict_oldest or refuse, got "drop"`},
		{"default lifetime above the maximum", with(nil, config.EnvDefaultMaxLifetime, "800h"), config.EnvDefaultMaxLifetime, "at most"},
		{"default idle timeout below a second", with(nil, config.EnvDefaultIdleTimeout, "5ms"), config.EnvDefaultIdleTimeout, "at least"},
		{"verify cache max age above a minute", with(nil, config.EnvVerifyCacheMaxAge, "2m"), config.EnvVerifyCacheMaxAge, "at most"},
		{"push tries zero", with(nil, config.EnvPushTries, "0"), config.EnvPushTries, "between"},
		{"previous keys without a current one", with(nil, config.EnvSigningPrevious, "/k/a.pem"), config.EnvSigningPrevious, "needs SESSIOND_SIGNING_KEY_FILE"},
		{"console not a switch", with(nil, config.EnvConsole, "maybe"), config.EnvConsole, `must be true or false (or on or off), got "maybe"`},
		{"tls not a bool", with(cluster, config.EnvRedisTLS, "yes"), config.EnvRedisTLS, `must be true or false (or on or off), got "yes"`},

		{"redis timeout zero", with(nil, config.EnvRedisTimeout, "0s"), config.EnvRedisTimeout, "must be positive, got 0s"},
		{"redis timeout negative", with(nil, config.EnvRedisTimeout, "-1s"), config.EnvRedisTimeout, "must be positive"},
		{"redis timeout too long", with(nil, config.EnvRedisTimeout, "61s"), config.EnvRedisTimeout, "must be at most 1m0s, got 1m1s"},
		{"redis timeout no unit", with(nil, config.EnvRedisTimeout, "5"), config.EnvRedisTimeout, `must be a duration such as 500ms, 2s or 720h, got "5"`},
		{"wait replicas negative", with(nil, config.EnvRedisWaitReplicas, "-1"), config.EnvRedisWaitReplicas, "must be between 0 and 10, got -1"},
		{"wait replicas too many", with(nil, config.EnvRedisWaitReplicas, "11"), config.EnvRedisWaitReplicas, "must be between 0 and 10, got 11"},
		{"wait replicas not int", with(nil, config.EnvRedisWaitReplicas, "one"), config.EnvRedisWaitReplicas, `must be an integer, got "one"`},
		{"redis timeout not above the WAIT timeout", with(nil, config.EnvRedisWaitReplicas, "1", config.EnvRedisTimeout, "500ms", config.EnvRedisWaitTimeout, "500ms"), config.EnvRedisTimeout,
			"must be longer than SESSIOND_REDIS_WAIT_TIMEOUT (500ms) when SESSIOND_REDIS_WAIT_REPLICAS is set, got 500ms"},
		{"wait timeout zero blocks forever", with(nil, config.EnvRedisWaitTimeout, "0"), config.EnvRedisWaitTimeout, "must be at least 1ms"},
		{"wait timeout too long", with(nil, config.EnvRedisWaitTimeout, "2m"), config.EnvRedisWaitTimeout, "must be at most 1m0s"},
		{"wait timeout garbage", with(nil, config.EnvRedisWaitTimeout, "soon"), config.EnvRedisWaitTimeout, "must be a duration"},

		{"hs256 secret short", with(nil, config.EnvHS256Secret, "short"), config.EnvHS256Secret, "must be at least 32 bytes, got 5"},
		{"jwks relative", with(nil, config.EnvJWKSURL, "/jwks.json"), config.EnvJWKSURL, "absolute http or https URL"},
		{"jwks ftp", with(nil, config.EnvJWKSURL, "ftp://idp/jwks"), config.EnvJWKSURL, "absolute http or https URL"},
		{"jwks no host", with(nil, config.EnvJWKSURL, "https:///jwks"), config.EnvJWKSURL, "absolute http or https URL"},
		{"jwks unparseable", with(nil, config.EnvJWKSURL, "https://idp/%zz"), config.EnvJWKSURL, "absolute http or https URL"},

		{"standalone redis without tokens", with(nil, config.EnvRedisURL, "redis://localhost:6379/0"), both, "production needs SESSIOND_JWT_HS256_SECRET or SESSIOND_JWKS_URL"},
		{"cluster without tokens", with(cluster, config.EnvHS256Secret, ""), both, "production needs"},
		{"issuer without tokens in production", with(cluster, config.EnvHS256Secret, "", config.EnvIssuer, "https://idp"), both, "SESSIOND_JWT_ISSUER cannot be checked"},
		{"audience without tokens in production", with(sentinel, config.EnvHS256Secret, "", config.EnvAudience, "sessiond"), both, "SESSIOND_JWT_AUDIENCE cannot be checked"},

		{"log level unknown", with(nil, config.EnvLogLevel, "verbose"), config.EnvLogLevel, `must be debug, info, warn or error, got "verbose"`},
		{"log format unknown", with(nil, config.EnvLogFormat, "text"), config.EnvLogFormat, `must be json or console, got "text"`},

		{"max lifetime zero", with(nil, config.EnvMaxSessionLifetime, "0"), config.EnvMaxSessionLifetime, "must be positive"},
		{"max lifetime too long", with(nil, config.EnvMaxSessionLifetime, "8761h"), config.EnvMaxSessionLifetime, "must be at most 8760h0m0s"},
		{"max lifetime days", with(nil, config.EnvMaxSessionLifetime, "30d"), config.EnvMaxSessionLifetime, "must be a duration"},
		{"sweep interval too short", with(nil, config.EnvSweepInterval, "999ms"), config.EnvSweepInterval, "must be at least 1s, got 999ms"},
		{"sweep interval garbage", with(nil, config.EnvSweepInterval, "often"), config.EnvSweepInterval, "must be a duration"},
		{"revoke batch zero", with(nil, config.EnvRevokeBatch, "0"), config.EnvRevokeBatch, "must be between 1 and 10000, got 0"},
		{"revoke batch too big", with(nil, config.EnvRevokeBatch, "10001"), config.EnvRevokeBatch, "must be between 1 and 10000, got 10001"},
		{"revoke batch float", with(nil, config.EnvRevokeBatch, "1.5"), config.EnvRevokeBatch, "must be an integer"},
		{"view shards zero", with(nil, config.EnvViewShards, "0"), config.EnvViewShards, "must be between 1 and 64, got 0"},
		{"view shards too many", with(nil, config.EnvViewShards, "65"), config.EnvViewShards, "must be between 1 and 64, got 65"},
		{"view shards garbage", with(nil, config.EnvViewShards, "twelve"), config.EnvViewShards, "must be an integer"},
		{"shutdown timeout zero", with(nil, config.EnvShutdownTimeout, "0s"), config.EnvShutdownTimeout, "must be positive"},
		{"shutdown timeout garbage", with(nil, config.EnvShutdownTimeout, "x"), config.EnvShutdownTimeout, "must be a duration"},
		{"activity interval too short", with(nil, config.EnvActivityInterval, "500ms"), config.EnvActivityInterval, "must be at least 1s"},
		{"activity interval negative", with(nil, config.EnvActivityInterval, "-1s"), config.EnvActivityInterval, "must be at least 1s"},
		{"activity interval garbage", with(nil, config.EnvActivityInterval, "never"), config.EnvActivityInterval, "must be a duration"},
		{"event retention too small", with(nil, config.EnvEventRetention, "999"), config.EnvEventRetention, "must be between 1000 and 10000000, got 999"},
		{"event retention too big", with(nil, config.EnvEventRetention, "10000001"), config.EnvEventRetention, "must be between 1000 and 10000000"},
		{"event retention underscores", with(nil, config.EnvEventRetention, "100_000"), config.EnvEventRetention, "must be an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(env(tc.env))
			ps := mustProblems(t, err)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ps), err)
			}
			if ps[0].Var != tc.wantVar {
				t.Errorf("got problem for %s, want %s (%v)", ps[0].Var, tc.wantVar, err)
			}
			if !strings.Contains(ps[0].Msg, tc.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", ps[0].Msg, tc.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "invalid configuration: "+tc.wantVar+": ") {
				t.Errorf("got error %q, want it to start with the variable", err)
			}
		})
	}
}
