package device_test

import (
	"sync"
	"testing"

	"github.com/sessiond/sessiond/pkg/device"
	"github.com/sessiond/sessiond/pkg/session"
)

var cases = []struct {
	name string
	ua   string
	want string
}{
	// Desktop.
	{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceDesktop},
	{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80", session.DeviceDesktop},
	{"safari macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", session.DeviceDesktop},
	{"firefox macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0", session.DeviceDesktop},
	{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", session.DeviceDesktop},
	{"firefox ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", session.DeviceDesktop},
	{"chrome chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceDesktop},

	// Mobile.
	{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", session.DeviceMobile},
	{"chrome iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", session.DeviceMobile},
	{"chrome android phone", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", session.DeviceMobile},
	{"chrome android reduced ua", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", session.DeviceMobile},
	{"samsung browser phone", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", session.DeviceMobile},
	{"firefox android phone", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", session.DeviceMobile},
	{"opera mini android", "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16", session.DeviceMobile},

	// Tablet.
	{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", session.DeviceTablet},
	{"chrome android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceTablet},
	{"chrome android tablet reduced ua", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceTablet},
	{"firefox android tablet", "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", session.DeviceTablet},

	// Bots, crawlers and HTTP clients.
	{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", session.DeviceBot},
	{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", session.DeviceBot},
	{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", session.DeviceBot},
	{"headless chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", session.DeviceBot},
	{"curl", "curl/8.5.0", session.DeviceBot},
	{"go http client", "Go-http-client/1.1", session.DeviceBot},
	{"python requests", "python-requests/2.31.0", session.DeviceBot},

	// Unknown.
	{"empty", "", session.DeviceUnknown},
	{"blank", "   \t", session.DeviceUnknown},
	{"garbage", "asdkjh 12893 !!@# zzz", session.DeviceUnknown},
	{"invalid utf-8", "\x00\xff\xfe garbage", session.DeviceUnknown},
	{"bare mozilla", "Mozilla/5.0", session.DeviceUnknown},
	{"smart tv", "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager", session.DeviceUnknown},
	{"playstation", "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15", session.DeviceUnknown},
}

func TestClassify(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := device.Classify(tc.ua); got != tc.want {
				t.Errorf("Classify(%q) = %q, want %q", tc.ua, got, tc.want)
			}
		})
	}
}

// TestClassifyConcurrent runs under -race to show the shared parser is safe.
func TestClassifyConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, tc := range cases {
				if got := device.Classify(tc.ua); got != tc.want {
					t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
				}
			}
		})
	}
	wg.Wait()
}

func TestClassifyReturnsKnownTypes(t *testing.T) {
	known := map[string]bool{}
	for _, d := range session.DeviceTypes {
		known[d] = true
	}
	for _, tc := range cases {
		if got := device.Classify(tc.ua); !known[got] {
			t.Errorf("Classify(%q) = %q, not one of %v", tc.ua, got, session.DeviceTypes)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	device.Classify("") // build the parser outside the timing
	b.ReportAllocs()
	for b.Loop() {
		for _, tc := range cases {
			device.Classify(tc.ua)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cases)), "ns/ua")
}

func BenchmarkClassifyParallel(b *testing.B) {
	const ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	device.Classify(ua)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			device.Classify(ua)
		}
	})
}
