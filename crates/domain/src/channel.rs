//! Channels: the configured connections customers reach us through (a mailbox, a bot, the
//! website widget, an integration's API). Here are the words every channel shares; what a
//! channel does lives in its driver (the `channels` crate), what the product does with what it
//! receives in the use-case layer.

use crate::string_enum;

string_enum! {
    /// What kind of connection a channel is, and so which driver serves it. Cases and messages
    /// carry the kind they came through; `internal` marks what was written inside Opora (notes,
    /// system entries) and is never sent anywhere.
    pub enum ChannelKind {
        Api => "api",
        Email => "email",
        Web => "web",
        Telegram => "telegram",
        Whatsapp => "whatsapp",
        Vk => "vk",
        Phone => "phone",
        Internal => "internal",
    }
}
