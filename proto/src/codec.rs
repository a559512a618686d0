//! [`Codec`]: prost's protobuf codec, with a smaller encode buffer on every call.
//!
//! tonic allocates each call's encode buffer up front (8 KiB by default) and a long-lived
//! stream keeps it for its life. A leader has one such stream per connected node (the agent
//! session's `MasterMessage`s), which was 7.6 MB of its heap with 1,000 hollow nodes; the
//! buffer grows to any larger message, so 1 KiB costs nothing but a reallocation for those.
//! The decode buffer keeps tonic's size: it grows in steps of its initial size to the
//! largest message received, and agents' status batches are several KiB (a 1 KiB decode
//! buffer ended larger in session 15's measurement).
use std::marker::PhantomData;

use prost::Message;
use tonic::codec::{BufferSettings, Codec as TonicCodec};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Bytes a call's encode buffer starts with.
const ENCODE_BUFFER: usize = 1024;
/// Encoded bytes at which a stream hands a chunk to HTTP/2 (tonic's default).
const YIELD_THRESHOLD: usize = 32 * 1024;

/// The codec of every generated client and server (`codec_path` in `proto/codegen`).
#[derive(Debug, Clone)]
pub struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<T, U> TonicCodec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::new(ENCODE_BUFFER, YIELD_THRESHOLD))
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<T, U>::raw_decoder(BufferSettings::default())
    }
}
