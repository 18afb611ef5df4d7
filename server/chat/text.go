package chat

import "strings"

// trimLineEnding removes exactly one line ending ("\r\n", "\n" or "\r")
// from the end of text. Clients written against the documented protocol
// send a line as they read it, ending included; inner line breaks are the
// sender's and stay.
func trimLineEnding(text string) string {
	if t, ok := strings.CutSuffix(text, "\r\n"); ok {
		return t
	}
	if n := len(text); n > 0 && (text[n-1] == '\n' || text[n-1] == '\r') {
		return text[:n-1]
	}
	return text
}

// actionText is the readable form of an action: "* Alice waves", so that
// every client, three-field ones too, shows it as a whole.
func actionText(name, action string) string {
	return "* " + name + " " + action
}
