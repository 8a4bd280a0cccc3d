package device_test

import (
	"runtime"
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
	{"windows tablet pc component", "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; SLCC2; Media Center PC 6.0; Tablet PC 2.0)", session.DeviceDesktop},
	{"old firefox windows", "Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.0.19) Gecko/2010062819 Firefox/3.0.19", session.DeviceDesktop},
	{"chrome chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceDesktop},

	// Mobile.
	{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", session.DeviceMobile},
	{"chrome iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", session.DeviceMobile},
	{"chrome android phone", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", session.DeviceMobile},
	{"chrome android reduced ua", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", session.DeviceMobile},
	{"samsung browser phone", "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", session.DeviceMobile},
	{"firefox android phone", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", session.DeviceMobile},
	{"windows phone", "Mozilla/5.0 (Windows Phone 8.1; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like Gecko", session.DeviceMobile},
	{"feature phone", "Nokia206/2.0 (04.52) Profile/MIDP-2.1 Configuration/CLDC-1.1", session.DeviceMobile},
	{"pinterest in-app browser", "Mozilla/5.0 (iPhone; CPU iPhone OS 8_3 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Mobile/12F70 [Pinterest/iOS]", session.DeviceMobile},
	{"opera mini android", "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16", session.DeviceMobile},

	// Tablet.
	{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", session.DeviceTablet},
	{"chrome android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceTablet},
	{"chrome android tablet reduced ua", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", session.DeviceTablet},
	{"kindle fire silk", "Mozilla/5.0 (Linux; U; en-us; KFJWI Build/IMM76D) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.17 Safari/535.19 Silk-Accelerated=true", session.DeviceTablet},
	{"windows touch", "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; Touch; rv:11.0) like Gecko", session.DeviceTablet},
	{"firefox android tablet", "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", session.DeviceTablet},

	// Bots, crawlers and HTTP clients.
	{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", session.DeviceBot},
	{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", session.DeviceBot},
	{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", session.DeviceBot},
	{"headless chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", session.DeviceBot},
	{"curl", "curl/8.5.0", session.DeviceBot},
	{"go http client", "Go-http-client/1.1", session.DeviceBot},
	{"crawler by its +http link", "Mozilla/5.0 (compatible; proximic; +http://www.proximic.com/info/spider.php)", session.DeviceBot},
	{"wget", "Wget/1.21.4", session.DeviceBot},
	{"python requests with its os", "python-requests/2.7.0 CPython/2.7.8 Linux/3.16.0-30-generic", session.DeviceBot},
	{"applebot on iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 8_1 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Version/8.0 Mobile/12B410 Safari/600.1.4 (Applebot/0.1; +http://www.apple.com/go/applebot)", session.DeviceBot},
	{"python requests", "python-requests/2.31.0", session.DeviceBot},

	// Unknown.
	{"empty", "", session.DeviceUnknown},
	{"blank", "   \t", session.DeviceUnknown},
	{"garbage", "asdkjh 12893 !!@# zzz", session.DeviceUnknown},
	{"invalid utf-8", "\x00\xff\xfe garbage", session.DeviceUnknown},
	{"bare mozilla", "Mozilla/5.0", session.DeviceUnknown},
	{"smart tv", "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager", session.DeviceUnknown},
	{"fire tv stick", "Mozilla/5.0 (Linux; Android 5.1; AFTS Build/LMY47O) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/41.99900.2250.0242 Safari/537.36", session.DeviceUnknown},
	{"chromecast", "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/31.0.1650.0 Safari/537.36 CrKey/1.0.999999", session.DeviceUnknown},
	{"google tv", "Mozilla/5.0 (Linux; GoogleTV 3.2; NSZ-GS7/GX70 Build/MASTER) AppleWebKit/534.24 (KHTML, like Gecko) Chrome/11.0.696.77 Safari/534.24", session.DeviceUnknown},
	{"xbox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041", session.DeviceUnknown},
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

// TestClassifyConcurrent runs under -race: Classify shares no mutable state.
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

// TestClassifyAllocatesNothing: the rules are constants and Classify
// builds nothing, so the hot create path adds no garbage and the process
// keeps no classifier state for the collector to scan.
func TestClassifyAllocatesNothing(t *testing.T) {
	for _, tc := range cases {
		if n := testing.AllocsPerRun(20, func() { device.Classify(tc.ua) }); n != 0 {
			t.Errorf("%s: %v allocations per call", tc.name, n)
		}
	}
}

// TestClassifyKeepsNoHeap: after every case has been classified, the test
// process's live heap is still small. A classifier that builds tables (the
// user-agent parser used before kept megabytes of pointers) would be
// rescanned by every garbage collection of the server.
func TestClassifyKeepsNoHeap(t *testing.T) {
	for _, tc := range cases {
		device.Classify(tc.ua)
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	const most = 2 << 20
	if m.HeapAlloc > most {
		t.Errorf("live heap after classifying: %d bytes, want at most %d", m.HeapAlloc, most)
	}
}

func BenchmarkClassify(b *testing.B) {
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
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			device.Classify(ua)
		}
	})
}
