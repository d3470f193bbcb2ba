//! Payment crypto on the `des` crate: CUP POS MAC, ANSI X9.9/X9.19, X9.8 PIN blocks,
//! key check values, sign-in working-key blocks (field 62) and PBOC e-purse crypto.
