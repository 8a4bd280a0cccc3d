package device

import (
	"strings"

	"github.com/sessiond/sessiond/pkg/session"
)

// The rules are plain, case-sensitive substring tests over the User-Agent
// value, tried in the order classify lists them (the package comment says
// why each group is what it is).

// botMarks name crawlers, link previewers, headless browsers, HTTP
// libraries and command-line clients.
var botMarks = []string{
	"bot", "Bot", "BOT", "crawl", "Crawl", "spider", "Spider", "Slurp", "+http", "-Google",
	"Google Search Console", "Google Page Speed", "Google Wireless Transcoder", "Pinterest/0.",
	"Headless", "Mediapartners", "Google-", "GoogleOther", "Google Favicon", "Google Web Preview", "facebookexternalhit", "facebookcatalog",
	"LinkCheck", "QuickLook", "PageSpeed", "Lighthouse", "Haosou", "Yahoo Ad",
	"WhatsApp", "amazon-QBusiness", "Indexer", "curl", "Wget", "wget", "Go-http-client",
	"python", "Python", "PycURL", "aiohttp", "Java/", "Java1.", "(Java)", "okhttp",
	"Apache-HttpClient", "Ruby", "PHP", "HTTP_Request", "perl", "Perl", "LWP::",
	"Nodejs", "node-fetch", "axios", "undici", "Dart/", "HTTPie", "PostmanRuntime", "insomnia",
}

// tvMarks name smart TVs, consoles and streaming sticks: none of the
// device types sessiond reports, so they are unknown.
var tvMarks = []string{
	"SmartTV", "SMART-TV", "Smart-TV", "Smart TV", "SmartDisplay", "Smart Display",
	"Large Screen", "LargeScreen", "HbbTV", "GoogleTV", "AppleTV", "Apple TV", "BRAVIA",
	"Web0S", "WebS;", "PlayStation", "PLAYSTATION", "Xbox", "XBOX",
	"Nintendo Wii", "CrKey", "Roku", "; AFT", "; ADT-", "Nexus Player", "Android TV", "webOS.TV",
}

// tabletMarks name tablets (an Android device without "Mobi" is one too).
var tabletMarks = []string{"iPad", "Tablet;", "Tablet)", "tablet", "Kindle", "Silk/", "PlayBook", "Nintendo Switch"}

// mobileMarks name phones.
var mobileMarks = []string{
	"Mobi", "iPhone", "iPod", "Windows Phone", "IEMobile", "Opera Mini", "BlackBerry", "BB10",
	"Symbian", "Series60", "webOS", "Nokia", "J2ME", "MIDP", "UP.Browser",
}

// desktopMarks name desktop operating systems.
var desktopMarks = []string{"Windows NT", "Macintosh", "Mac OS X", "X11", "CrOS", "Linux", "FreeBSD", "OpenBSD", "NetBSD", "Ubuntu", "Fedora", "Windows 98", "Windows 95"}

func hasAny(s string, marks []string) bool {
	for _, m := range marks {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// classify applies the rules to a non-blank User-Agent value.
func classify(ua string) string {
	switch {
	case hasAny(ua, botMarks):
		return session.DeviceBot
	case hasAny(ua, tvMarks):
		return session.DeviceUnknown
	case hasAny(ua, tabletMarks):
		return session.DeviceTablet
	case strings.Contains(ua, "Android"):
		if strings.Contains(ua, "Mobi") || strings.Contains(ua, "Opera Mini") {
			return session.DeviceMobile
		}
		return session.DeviceTablet
	case hasAny(ua, mobileMarks):
		return session.DeviceMobile
	case strings.Contains(ua, "Windows NT") && strings.Contains(ua, "Touch"):
		return session.DeviceTablet // Windows on a touch screen (Surface and its like)
	case hasAny(ua, desktopMarks):
		return session.DeviceDesktop
	default:
		return session.DeviceUnknown
	}
}
