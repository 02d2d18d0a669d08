"""The event stream over WebSocket (contract section 11): VoIPbin's `/v1.0/ws`, a door of the
API like its REST views. Topics and their rules are in `topics`, the connection in `consumer`."""
