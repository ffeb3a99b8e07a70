#include <core.p4>
const bit<8> a = 0xZZ;
const bit<8> b = 8w0b102;
const bit<8> c = 3 $ 4;
const string s = "unterminated;
const bit<8> d = 1;
// expect: 2:18: invalid digit in integer literal '0xZZ'
// expect: 3:18: invalid digit in integer literal '8w0b102'
// expect: 4:20: unexpected character '$'
// expect: 5:18: unterminated string literal
// expect-more
