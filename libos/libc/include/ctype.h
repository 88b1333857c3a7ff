/*
 * ctype.h - character classes (C11 7.4) for the "C" locale: 7-bit ASCII.
 * Arguments must be EOF or representable as unsigned char, as in C;
 * other values (and EOF) are in no class and map to themselves.
 */
#ifndef _CTYPE_H
#define _CTYPE_H

int isalnum(int c);
int isalpha(int c);
int iscntrl(int c);
int isdigit(int c);
int isgraph(int c);
int islower(int c);
int isprint(int c);
int ispunct(int c);
int isspace(int c);
int isupper(int c);
int isxdigit(int c);
int tolower(int c);
int toupper(int c);

#endif /* _CTYPE_H */
