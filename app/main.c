/* placeholder until the app layer lands */
int main(void)
{
    return 0;
}
