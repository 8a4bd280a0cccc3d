package testserver

// Event is a revocation event as its JSON reads on the wire (the data of
// the SSE stream, a line of sessionctl watch -o json), for tests that check
// that form: revoked_at as its text, a null partner_id as nil.
type Event struct {
	Type      string  `json:"type"`
	SessionID string  `json:"session_id"`
	UserID    string  `json:"user_id"`
	TenantID  string  `json:"tenant_id"`
	PartnerID *string `json:"partner_id"`
	RevokedAt string  `json:"revoked_at"`
	Reason    string  `json:"reason"`
	Actor     string  `json:"actor"`
}
