package handlers

import "encoding/json"

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
