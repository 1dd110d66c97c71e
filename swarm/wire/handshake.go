package wire

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/flynn/noise"
)

// nonceLen is the size of the XSalsa20 nonce each side sends in its
// handshake payload.
const nonceLen = 24

var cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2b)

// session is what a finished handshake yields.
type session struct {
	tx, rx       [32]byte // split keys: k1/k2 for the initiator, k2/k1 for the responder
	localNonce   [nonceLen]byte
	remoteNonce  [nonceLen]byte
	remoteStatic [32]byte
	hash         []byte // the Noise handshake hash (64 bytes)
}

// handshake runs Noise_XX_25519_ChaChaPoly_BLAKE2b with an empty prologue,
// each message framed as varint(length) || message and carrying the payload
// NoisePayload{nonce}. rnd supplies the nonce (24 bytes), then the ephemeral
// secret (32 bytes).
func handshake(w io.Writer, rd *frameReader, initiator bool, kp KeyPair, rnd io.Reader) (session, error) {
	var ses session
	if _, err := io.ReadFull(rnd, ses.localNonce[:]); err != nil {
		return ses, fmt.Errorf("make nonce: %w", err)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Pattern:       noise.HandshakeXX,
		Initiator:     initiator,
		StaticKeypair: noise.DHKey{Private: kp.Secret[:], Public: kp.Public[:]},
		Random:        rnd,
	})
	if err != nil {
		return ses, fmt.Errorf("start noise: %w", err)
	}
	payload := append([]byte{0x0a, nonceLen}, ses.localNonce[:]...)
	var remotePayload []byte
	var cs1, cs2 *noise.CipherState
	for turn := 0; cs1 == nil; turn++ {
		if (turn%2 == 0) == initiator {
			cs1, cs2, err = writeMessage(w, hs, payload)
		} else {
			var pl []byte
			pl, cs1, cs2, err = readMessage(rd, hs)
			if len(pl) > 0 {
				remotePayload = pl // JS keeps the last non-empty payload
			}
		}
		if err != nil {
			return ses, err
		}
	}
	return ses, ses.finish(hs, initiator, cs1, cs2, remotePayload)
}

func writeMessage(w io.Writer, hs *noise.HandshakeState, payload []byte) (*noise.CipherState, *noise.CipherState, error) {
	msg, cs1, cs2, err := hs.WriteMessage(nil, payload)
	if err != nil {
		return nil, nil, fmt.Errorf("write handshake message: %w", err)
	}
	framed := append(binary.AppendUvarint(nil, uint64(len(msg))), msg...)
	if _, err := w.Write(framed); err != nil {
		return nil, nil, fmt.Errorf("write handshake message: %w", err)
	}
	return cs1, cs2, nil
}

func readMessage(rd *frameReader, hs *noise.HandshakeState) ([]byte, *noise.CipherState, *noise.CipherState, error) {
	msg, err := rd.message(noise.MaxMsgLen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read handshake message: %w", err)
	}
	pl, cs1, cs2, err := hs.ReadMessage(nil, msg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read handshake message: %w", err)
	}
	return pl, cs1, cs2, nil
}

func (ses *session) finish(hs *noise.HandshakeState, initiator bool, cs1, cs2 *noise.CipherState, remotePayload []byte) error {
	nonce, err := payloadNonce(remotePayload)
	if err != nil {
		return err
	}
	ses.remoteNonce = nonce
	ses.tx, ses.rx = cs1.UnsafeKey(), cs2.UnsafeKey()
	if !initiator {
		ses.tx, ses.rx = ses.rx, ses.tx
	}
	copy(ses.remoteStatic[:], hs.PeerStatic())
	ses.hash = append([]byte(nil), hs.ChannelBinding()...)
	return nil
}

// payloadNonce decodes NoisePayload { required bytes nonce = 1; }.
func payloadNonce(payload []byte) ([nonceLen]byte, error) {
	var nonce [nonceLen]byte
	if len(payload) == 0 {
		return nonce, fmt.Errorf("remote sent no handshake payload: %w", ErrMalformed)
	}
	var got []byte
	err := eachField(payload, func(p *pbReader, num, wt uint64) (err error) {
		if num == 1 {
			got, err = p.bytes(wt)
			return err
		}
		return p.skip(wt)
	})
	if err == nil && len(got) != nonceLen {
		err = malformed("handshake nonce of %d bytes, want %d", len(got), nonceLen)
	}
	if err != nil {
		return nonce, fmt.Errorf("decode handshake payload: %w", err)
	}
	return [nonceLen]byte(got), nil
}
