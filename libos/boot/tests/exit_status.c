/* main()'s return value becomes the exit status. */
int main(void)
{
    return 3;
}
