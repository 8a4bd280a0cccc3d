// Package device classifies a user agent as desktop, mobile, tablet, bot or unknown.
//
// Classification is delegated to github.com/medama-io/go-useragent, a
// trie-based parser that allocates nothing per call, with two rules of our own
// on top:
//
//   - Android without "Mobi" is a tablet. Google's guidance for Android
//     browsers is to send "Mobile" on phones only; the library reports every
//     Android device as mobile. Opera Mini, a phone browser that never says
//     "Mobile", stays mobile.
//   - Smart TVs, consoles and streaming sticks are unknown: they are none of
//     the device types sessiond reports, and calling them desktop would skew
//     the desktop count.
//
// HTTP libraries and command-line clients (curl, Go-http-client,
// python-requests, Java, …) are bots: no human browser sits behind them, and
// they are what an operator wants out of the human device counts. Headless
// browsers count as bots too.
package device

import (
	"strings"
	"sync"

	useragent "github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"

	"github.com/sessiond/sessiond/pkg/session"
)

// parser is built on first use (it takes tens of milliseconds) and then
// shared: Parse only reads the trie, so concurrent calls are safe.
var parser = sync.OnceValue(useragent.NewParser)

// Classify returns the device type of a User-Agent header value: one of
// session.DeviceDesktop, DeviceMobile, DeviceTablet, DeviceBot or
// DeviceUnknown. Empty and unrecognised values are DeviceUnknown.
func Classify(userAgent string) string {
	if strings.TrimSpace(userAgent) == "" {
		return session.DeviceUnknown
	}
	ua := parser().Parse(userAgent)
	switch ua.Device() {
	case agents.DeviceDesktop:
		return session.DeviceDesktop
	case agents.DeviceMobile:
		if ua.OS() == agents.OSAndroid && !strings.Contains(userAgent, "Mobi") && !strings.Contains(userAgent, "Opera Mini") {
			return session.DeviceTablet
		}
		return session.DeviceMobile
	case agents.DeviceTablet:
		return session.DeviceTablet
	case agents.DeviceBot:
		return session.DeviceBot
	default:
		return session.DeviceUnknown
	}
}
